"""test_nic.py — the NIC layer before TCP/IP (net/, docs/network.md): a
2-node cluster booted directly, whose nodes share a VDE switch on NIC1
(virtio-net, eth1) and each have QEMU's user network on NIC0 (e1000, eth0).

Frames are sent through /proc/net/tx/IF[:N]/{test,arp} (opening the file
sends them) and counted in /proc/net/dev (Linux's format) and
/proc/net/nics (per-device detail: test frames received, ARP replies,
drops by reason). The last test boots one node with both NICs on the user
network and runs the in-kernel self-tests (selftest=net).

Waits are on console output (polling a counter with a deadline), never on
a fixed sleep."""

import re
import subprocess
import time

import pytest

from shoal import qemu

DEV_HEADER = ("Inter-|   Receive                                                |  Transmit\n"
              " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
              "packets errs drop fifo colls carrier compressed\n")


@pytest.fixture(scope="module")
def nic(module_cluster):
    return module_cluster("nic", nodes=2, boot="direct")


def proc_net_dev(con):
    """{ifname: {field: int}} from /proc/net/dev."""
    out, status = con.run("cat /proc/net/dev")
    assert status == 0 and out.startswith(DEV_HEADER), out
    names = ["rx_bytes", "rx_packets", "rx_errs", "rx_drop", "rx_fifo", "rx_frame",
             "rx_compressed", "rx_multicast", "tx_bytes", "tx_packets", "tx_errs",
             "tx_drop", "tx_fifo", "tx_colls", "tx_carrier", "tx_compressed"]
    devs = {}
    for line in out.splitlines()[2:]:
        m = re.match(r"^ *(\w+):((?: +\d+){16})$", line)
        assert m, f"bad /proc/net/dev line: {line!r}"
        devs[m.group(1)] = dict(zip(names, map(int, m.group(2).split())))
    return devs


def nics(con):
    """{ifname: {counter: value}} from /proc/net/nics (numbers as int)."""
    out, status = con.run("cat /proc/net/nics")
    assert status == 0, out
    devs, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\w+): driver (\S+) mac (\S+) mtu (\d+) link (up|down)$", line)
        if m:
            cur = devs[m.group(1)] = {"driver": m.group(2), "mac": m.group(3),
                                      "mtu": int(m.group(4)), "link": m.group(5)}
            continue
        assert cur is not None and line.startswith("  "), out
        words = line.split()
        for k, v in zip(words, words[1:]):
            if v.isdigit():
                cur[k] = int(v)
    return devs


def wait_counter(con, dev, key, target, timeout=20.0):
    """Re-read /proc/net/nics until dev's key reaches target."""
    deadline = time.monotonic() + timeout
    while True:
        v = nics(con)[dev][key]
        if v >= target or time.monotonic() > deadline:
            return v


def test_devices_and_proc_net_dev(nic):
    for n in range(2):
        with nic.console(n) as con:
            devs = proc_net_dev(con)
            assert list(devs) == ["eth0", "eth1"], devs
            d = nics(con)
            assert d["eth0"]["driver"] == "e1000"
            assert d["eth0"]["mac"] == f"52:54:00:00:00:{n:02x}"
            assert d["eth1"]["driver"] == "virtio-net"
            assert d["eth1"]["mac"] == f"52:54:00:00:01:{n:02x}"
            assert d["eth0"]["mtu"] == d["eth1"]["mtu"] == 1500
            assert d["eth1"]["link"] == "up"
            out, status = con.run("ls /proc/net/tx")
            assert (status, out.split()) == (0, ["eth0", "eth1"]), out


def test_node0_to_node1_over_the_switch(nic):
    with nic.console(0) as c0, nic.console(1) as c1:
        rx_before = nics(c1)["eth1"]
        dev1_before = proc_net_dev(c1)["eth1"]
        dev0_before = proc_net_dev(c0)["eth1"]
        out, status = c0.run("cat /proc/net/tx/eth1:200/test")
        assert status == 0 and re.match(r"eth1: sent 200 of 200 test frames", out), out
        got = wait_counter(c1, "eth1", "test_rx", rx_before["test_rx"] + 200)
        assert got == rx_before["test_rx"] + 200, (got, rx_before)
        after = nics(c1)["eth1"]
        assert after["test_bad"] == rx_before["test_bad"]
        dev1 = proc_net_dev(c1)["eth1"]
        dev0 = proc_net_dev(c0)["eth1"]
        assert dev1["rx_packets"] - dev1_before["rx_packets"] >= 200
        assert dev1["rx_bytes"] - dev1_before["rx_bytes"] >= 200 * 74
        assert dev1["rx_multicast"] - dev1_before["rx_multicast"] >= 200
        # >=: once TCP/IP runs, it sends on eth1 too.
        assert dev0["tx_packets"] - dev0_before["tx_packets"] >= 200
        assert dev0["tx_bytes"] - dev0_before["tx_bytes"] >= 200 * 74
        assert dev0["tx_errs"] == dev0_before["tx_errs"]
        # And back: node1 -> node0, one frame.
        before = nics(c0)["eth1"]["test_rx"]
        out, status = c1.run("cat /proc/net/tx/eth1/test")
        assert status == 0 and out.startswith("eth1: sent 1 of 1"), out
        assert wait_counter(c0, "eth1", "test_rx", before + 1) == before + 1


def test_e1000_link_and_arp_on_the_user_network(nic):
    """QEMU's user network answers ARP for its gateway 10.0.2.2."""
    with nic.console(0) as con:
        d = nics(con)["eth0"]
        assert d["link"] == "up", d
        before = proc_net_dev(con)["eth0"]
        out, status = con.run("cat /proc/net/tx/eth0:3/arp")
        assert (status, out) == (0, "eth0: sent 3 of 3 ARP requests\n"), out
        # >=: replies to the TCP/IP stack's own requests count too.
        got = wait_counter(con, "eth0", "arp_replies", d["arp_replies"] + 3)
        assert got >= d["arp_replies"] + 3, (got, d)
        after = proc_net_dev(con)["eth0"]
        assert after["tx_packets"] - before["tx_packets"] >= 3
        assert after["rx_packets"] - before["rx_packets"] >= 3
        assert nics(con)["eth0"]["interrupts"] > d["interrupts"]


def test_flood_is_counted_not_fatal(nic):
    """10,000 frames as fast as node0 can send them: node1 takes what its
    ring holds, every frame it got is valid, and both nodes stay alive."""
    with nic.console(0) as c0, nic.console(1) as c1:
        before = nics(c1)["eth1"]
        out, status = c0.run("cat /proc/net/tx/eth1:10000/test", timeout=120)
        m = re.match(r"eth1: sent (\d+) of 10000 test frames", out)
        assert status == 0 and m, out
        sent = int(m.group(1))
        assert sent > 0
        # Wait until the receiver's count stops moving (or all arrived).
        last, deadline = -1, time.monotonic() + 60
        while time.monotonic() < deadline:
            now = nics(c1)["eth1"]["test_rx"]
            if now == last or now - before["test_rx"] == sent:
                break
            last = now
        after = nics(c1)["eth1"]
        got = after["test_rx"] - before["test_rx"]
        print(f"flood: {sent} sent, {got} received")
        assert 0 < got <= sent, (got, sent)
        assert after["test_bad"] == before["test_bad"]
        assert c1.run("echo alive") == ("alive\n", 0)
        assert c0.run("echo alive") == ("alive\n", 0)


def test_sized_frames_and_their_rate(nic):
    """eth1:N:SIZE/test: SIZE bytes after the Ethernet header; the report
    adds the time and the rate (the frame blaster of tools/bench/net.py)."""
    with nic.console(0) as c0, nic.console(1) as c1:
        for size in (1500, 46):
            before = nics(c1)["eth1"]["test_rx"]
            dev0_before = proc_net_dev(c0)["eth1"]
            out, status = c0.run(f"cat /proc/net/tx/eth1:50:{size}/test")
            m = re.match(r"eth1: sent 50 of 50 test frames \(seq \d+\.\.\d+\) in (\d+) us "
                         r"\(xmit (\d+) us\), (\d+) frames/s, ([\d.]+) MiB/s of (\d+)-byte "
                         r"frames\n$", out)
            assert status == 0 and m, out
            us, xmit_us, fps = int(m.group(1)), int(m.group(2)), int(m.group(3))
            assert int(m.group(5)) == size + 14, out
            assert 0 < xmit_us <= us and fps == 50 * 10**6 // us, out
            assert abs(float(m.group(4)) - fps * (size + 14) / 2**20) < 0.02, out
            assert wait_counter(c1, "eth1", "test_rx", before + 50) == before + 50
            dev0 = proc_net_dev(c0)["eth1"]
            assert dev0["tx_bytes"] - dev0_before["tx_bytes"] >= 50 * (size + 14)


def test_bad_requests_are_refused(nic):
    with nic.console(1) as con:
        for path in ["eth9/test", "eth1:0/test", "eth1:1000001/test", "eth1:/test",
                     "eth1:x/test", "eth1/nothing", "eth1::100/test", "eth1:5:/test",
                     "eth1:5:45/test", "eth1:5:1501/test", "eth1:5:100:1/test",
                     "eth1:5:x/test", "eth0:3:100/arp"]:
            out, status = con.run(f"cat /proc/net/tx/{path}")
            assert status != 0, (path, out)
        # The node still works.
        assert con.run("echo alive") == ("alive\n", 0)


def test_nic_selftests(kernel, workdir):
    """selftest=net on one node with an e1000 and a virtio-net, both on the
    user network: demux, transmit checks, a 500-frame burst per NIC, ARP."""
    log = workdir / "selftest.log"
    argv = qemu.oneshot_argv(kernel[0], kernel[1], "node=0 selftest=net", str(log))
    i = argv.index("-nic")
    del argv[i:i + 2]
    argv += ["-netdev", "user,id=n0",
             "-device", "e1000,netdev=n0,mac=52:54:00:00:00:00,romfile=",
             "-netdev", "user,id=n1",
             "-device", "virtio-net-pci,netdev=n1,mac=52:54:00:00:01:00,romfile="]
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
    text = log.read_text(errors="replace")
    assert r.returncode == 1, text[-3000:]
    results = re.findall(r"^(not ok|ok) \d+ - (\S+)", text, re.M)
    names = {name for ok, name in results if ok == "ok"}
    assert {"net_rx_demux", "net_xmit_checks", "net_tx_burst", "net_e1000_arp"} <= names, \
        text[-3000:]
    assert re.search(r"^# eth0: 500 frames: \d+ sent", text, re.M), text[-3000:]
    assert re.search(r"^# eth1: 500 frames: \d+ sent", text, re.M), text[-3000:]
    assert "SHOAL PANIC" not in text and "SHOAL EXCEPTION" not in text
