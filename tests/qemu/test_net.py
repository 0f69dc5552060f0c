"""test_net.py — TCP/IP over the NICs before sockets (net/lwip/netif_shoal.c,
net/lwip/ping.c, docs/network.md "## Interfaces and addresses"): a 3-node
cluster booted directly; eth0 (e1000, QEMU's user network) gets its address
from lwIP's DHCP client, eth1 (virtio-net, the VDE interconnect) is
10.10.0.N/16 for node N.

Pings are in-kernel ICMP echoes on lwIP's raw API, started by opening
/proc/net/ping/A.B.C.D[:N]/echo; the file's text has a line per echo and a
summary ("3 sent, 3 received, 0% loss, rtt min/avg/max a/b/c ms").
/proc/net/if and /proc/net/snmp are parsed, /etc/hosts is checked, and a
killed node is unreachable (100% loss, bounded time) until it boots again.

Waits are on console output with timeouts, never a fixed sleep."""

import re
import time

import pytest

NODES = 3
SUMMARY_RE = re.compile(r"^(\d+) sent, (\d+) received, (\d+)% loss"
                        r"(?:, rtt min/avg/max ([\d.]+)/([\d.]+)/([\d.]+) ms)?"
                        r"(?:, (\d+) bad replies)?$", re.M)


@pytest.fixture(scope="module")
def net(module_cluster):
    return module_cluster("net", nodes=NODES, boot="direct")


def addr(n):
    return f"10.10.0.{n}"


def ping(con, ip, count=3, timeout=None):
    """Ping ip count times from con's node: (sent, received, loss %, rtts
    in ms per answered echo, text)."""
    out, status = con.run(f"cat /proc/net/ping/{ip}:{count}/echo",
                          timeout=timeout or 10 + 2 * count)
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0] == f"ping {ip}: {count} echoes of 56 data bytes, timeout 1000 ms", out
    rtts = []
    for seq, line in enumerate(lines[1:1 + count]):
        m = re.match(rf"^seq {seq} (?:reply ([\d.]+) ms|timeout|not sent: .*)$", line)
        assert m, out
        if m.group(1):
            rtts.append(float(m.group(1)))
    m = SUMMARY_RE.search(out)
    assert m, out
    sent, got, loss = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert got == len(rtts) and not m.group(7), out
    return sent, got, loss, rtts, out


def interfaces(con):
    """{name: {key: value}} from /proc/net/if ("name: key value ...")."""
    out, status = con.run("cat /proc/net/if")
    assert status == 0, out
    ifs = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+): (.*)$", line)
        assert m, f"bad /proc/net/if line: {line!r}"
        words = m.group(2).split()
        assert len(words) % 2 == 0, line
        ifs[m.group(1)] = dict(zip(words[::2], words[1::2]))
    return ifs


def snmp(con):
    """{proto: {field: int}} from /proc/net/snmp (header line, value line)."""
    out, status = con.run("cat /proc/net/snmp")
    assert status == 0, out
    lines = out.splitlines()
    assert len(lines) % 2 == 0, out
    table = {}
    for head, vals in zip(lines[::2], lines[1::2]):
        hp, hn = head.split(":")
        vp, vv = vals.split(":")
        assert hp == vp, (head, vals)
        names, nums = hn.split(), vv.split()
        assert len(names) == len(nums) and all(v.isdigit() for v in nums), (head, vals)
        table[hp] = dict(zip(names, map(int, nums)))
    return table


def wait_dhcp(con, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        eth0 = interfaces(con)["eth0"]
        if eth0["dhcp"] == "bound" or time.monotonic() > deadline:
            return eth0


def test_boot_lines(net):
    """One line per interface once it has its address, before ready."""
    for n in range(NODES):
        log = open(net.lay.log(n), errors="replace").read()
        ready = log.index(f"shoal: node {n} ready")
        eth1 = log.index(f"shoal: eth1 {addr(n)}/16 up\n")
        eth0 = log.index("shoal: eth0 10.0.2.15/24 via dhcp\n")
        assert eth1 < ready and eth0 < ready, log[-2000:]


def test_interfaces(net):
    for n in range(NODES):
        with net.console(n) as con:
            ifs = interfaces(con)
            assert list(ifs) == ["eth0", "eth1", "lo0"], ifs
            eth0 = wait_dhcp(con)
            assert eth0["addr"] == "10.0.2.15/24" and eth0["netmask"] == "255.255.255.0", eth0
            assert eth0["gateway"] == "10.0.2.2" and eth0["config"] == "dhcp", eth0
            assert eth0["dhcp"] == "bound" and int(eth0["lease"]) > 0, eth0
            assert eth0["default"] == "yes" and eth0["link"] == "up", eth0
            assert eth0["mac"] == f"52:54:00:00:00:{n:02x}", eth0
            eth1 = ifs["eth1"]
            assert eth1["addr"] == f"{addr(n)}/16" and eth1["netmask"] == "255.255.0.0", eth1
            assert eth1["config"] == "static" and eth1["default"] == "no", eth1
            assert eth1["state"] == eth1["link"] == "up" and eth1["mtu"] == "1500", eth1
            assert eth1["mac"] == f"52:54:00:00:01:{n:02x}", eth1
            assert ifs["lo0"]["addr"] == "127.0.0.1/8", ifs
            for k in ("rx", "rx_nomem", "rx_full", "tx", "tx_err"):
                assert eth1[k].isdigit(), eth1
            assert eth1["rx_nomem"] == eth1["rx_full"] == "0", eth1


def test_etc_hosts(net):
    with net.console(0) as con:
        out, status = con.run("cat /etc/hosts")
        assert status == 0, out
        names = {}
        for line in out.splitlines():
            line = line.split("#")[0].split()
            if line:
                for name in line[1:]:
                    names[name] = line[0]
        assert names["localhost"] == "127.0.0.1"
        for n in range(64):
            assert names[f"node{n}"] == addr(n)


def test_every_node_pings_every_other(net):
    results = {}
    for a in range(NODES):
        with net.console(a) as con:
            for b in range(NODES):
                if a == b:
                    continue
                sent, got, loss, rtts, out = ping(con, addr(b), 5)
                assert (sent, got, loss) == (5, 5, 0), out
                assert all(0 < r < 1000 for r in rtts), out
                results[(a, b)] = rtts
    for (a, b), rtts in sorted(results.items()):
        print(f"node{a} -> node{b}: rtt min/avg/max "
              f"{min(rtts):.3f}/{sum(rtts) / len(rtts):.3f}/{max(rtts):.3f} ms")


def test_ping_self_and_gateway(net):
    """The node's own addresses answer (lwIP loops them back); QEMU's user
    network answers ICMP echo to its gateway 10.0.2.2 (slirp emulates it)."""
    with net.console(1) as con:
        before = snmp(con)
        for ip in (addr(1), "127.0.0.1", "10.0.2.2"):
            sent, got, loss, rtts, out = ping(con, ip, 3)
            assert (sent, got, loss) == (3, 3, 0), out
        after = snmp(con)
        # Each echo to 10.0.2.2 went out on eth0 (ARP cached or not).
        assert after["Link"]["xmit"] - before["Link"]["xmit"] >= 3, (before, after)
        assert after["Ip"]["xmit"] - before["Ip"]["xmit"] >= 9, (before, after)
        assert after["Ip"]["recv"] - before["Ip"]["recv"] >= 9, (before, after)
        # node1 answered the others' echoes in test_every_node_pings_every_other.
        assert after["Icmp"]["recv"] >= 10 and after["Icmp"]["xmit"] >= 10, after
        for proto in ("Link", "Etharp", "Ip", "Icmp", "Udp", "Tcp"):
            assert set(after[proto]) >= {"xmit", "recv", "drop", "chkerr"}, after
        assert after["Pbuf"]["err"] == 0 and after["Heap"]["err"] == 0, after
        assert after["Udp"]["recv"] >= 2, after  # the DHCP offer and ack


def test_unreachable_and_bad_names(net):
    with net.console(0) as con:
        t0 = time.monotonic()
        sent, got, loss, rtts, out = ping(con, "10.10.0.77", 2)
        assert (sent, got, loss) == (2, 0, 100), out
        assert time.monotonic() - t0 < 10, out
        for name in ["10.10.0", "10.10.0.1:0", "10.10.0.1:51", "10.10.0.256", "10.10.0.1:",
                     "10.10.0.1:x", "1.2.3.4.5", "node1"]:
            out, status = con.run(f"cat /proc/net/ping/{name}/echo")
            assert status != 0, (name, out)
        out, status = con.run("cat /proc/net/ping/10.10.0.1/nothing")
        assert status != 0, out
        assert con.run("echo alive") == ("alive\n", 0)


def test_killed_node_unreachable_then_back(net):
    victim = 2
    net.kill(victim)
    try:
        for n in range(NODES):
            if n == victim:
                continue
            with net.console(n) as con:
                t0 = time.monotonic()
                sent, got, loss, rtts, out = ping(con, addr(victim), 3)
                took = time.monotonic() - t0
                assert (sent, got, loss) == (3, 0, 100), out
                assert took < 15, (took, out)
                print(f"node{n} -> dead node{victim}: 100% loss in {took:.1f} s")
    finally:
        net.start(victim)
    for n in range(NODES):
        if n == victim:
            continue
        with net.console(n) as con:
            sent, got, loss, rtts, out = ping(con, addr(victim), 3)
            assert (sent, got, loss) == (3, 3, 0), out
    with net.console(victim) as con:
        for n in range(NODES - 1):
            sent, got, loss, rtts, out = ping(con, addr(n), 3)
            assert (sent, got, loss) == (3, 3, 0), out
        assert wait_dhcp(con)["addr"] == "10.0.2.15/24"
