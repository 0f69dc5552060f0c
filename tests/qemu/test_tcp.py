"""test_tcp.py — sockets between nodes and from the host (docs/network.md
"## Cluster tests"): a 3-node cluster booted directly, talking over eth1
(the VDE interconnect, 10.10.0.N) with user/tests/netx.c:

  * 16 MiB over TCP node1 -> node2, the FNV-1a of the data equal at both
    ends (the duration is printed, a figure, not a pass mark);
  * UDP echo node0 <-> node1, datagrams of many sizes;
  * 50 TCP connections open at once to one polling echo server;
  * a request from the host through node0's forwarded port
    (tools/cluster: 127.0.0.1:PORT -> node0's eth0 port 80);
  * a receiver killed with SIGKILL mid-transfer: the sender gets an error
    within a bound (no hang) and both nodes keep working; a sender killed
    mid-transfer: the receiver gets end of file. After either, both nodes
    are back where they started: lwIP's pools and heap, the kernel's
    sockets and MemFree (/proc/net/lwip, /proc/net/sockets, /proc/meminfo),
    so a socket that outlives its process is a failure;
  * `tools/cluster ports` prints the forwarded ports;
  * a 2-node cluster with --link loss=5,delay=20 (two switches joined by
    wirefilter): ping rtt >= 40 ms and 512 KiB arrive intact.

Servers print "listening on port P pid N" (P chosen by the system unless
the test needs one); the test waits for that line, never sleeps."""

import re
import time
import urllib.request

import pytest

NODES = 3
NETX = "/bin/tests/netx"
LISTEN_RE = re.compile(r"listening on port (\d+) pid (\d+)\r?\n")
SUM_RE = r"(\d+) bytes fnv ([0-9a-f]{8}) in ([\d.]+) s"
RATE_RE = r"netx: tcp_recv bytes=\d+ ns=\d+ mib_per_s=[\d.]+\r?\n"
# How far MemFree (+ Buffers, the block cache, which grows as the shell
# reads programs from disk and is not a leak) may sit below its baseline
# after a killed transfer: the kernel heap keeps pages it freed for its
# next allocations and the shell's own commands come and go, a few pages
# of churn. A leaked process (its stack, page tables, netx's 64 KiB buffer,
# the 64 KiB kernel copy buffer of a send) is beyond it; a leaked socket is
# caught exactly by the lwIP counts, which must come back to the unit.
MEM_SLACK_KB = 256
# Closing a connection ends in the tcpip thread a little later, and a reset
# crosses the link: how long the counts may take to come back.
SETTLE_S = 10


@pytest.fixture(scope="module")
def net(module_cluster):
    return module_cluster("tcp", nodes=NODES, boot="direct")


def addr(n):
    return f"10.10.0.{n}"


def start_server(con, args):
    """Type `netx ARGS` into con (it keeps the console) and wait until it
    listens: its port and pid."""
    con.drain()
    con.send(f"\x15{NETX} {args}\r")
    m = con.wait_for(LISTEN_RE, timeout=20)
    return int(m.group(1)), int(m.group(2))


def transfer(net, src, dst, nbytes, seed, timeout):
    """nbytes from node src to node dst: (sender's line, receiver's line)."""
    with net.console(dst) as rcv, net.console(src) as snd:
        port, _ = start_server(rcv, "recv 0")
        out, status = snd.run(f"{NETX} send {addr(dst)} {port} {nbytes} {seed}", timeout=timeout)
        assert status == 0, out
        sent = re.search(r"send: " + SUM_RE, out)
        assert sent, out
        got = rcv.wait_for(r"recv: " + SUM_RE, timeout=30)
        # netx's last line (its rate) comes in a write of its own, which
        # the typed command below may overtake.
        rcv.wait_for(RATE_RE, timeout=30)
        # The shell is back before the console is lent to anyone else.
        assert rcv.run("echo ok") == ("ok\n", 0)
    return sent, got


def net_state(con):
    """What a node's network holds: lwIP's pools and heap, its TCP pcbs,
    the kernel's sockets (/proc/net/lwip), the pcbs of /proc/net/sockets,
    and MemFree + Buffers in KiB (/proc/meminfo)."""
    out, status = con.run("cat /proc/net/lwip /proc/net/sockets /proc/meminfo")
    assert status == 0, out
    pools, socks, mem, st = {}, [], {}, {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 6 and f[0] in ("tcp", "udp"):
            socks.append(f)
        elif len(f) == 6 and all(x.isdigit() for x in f[1:]):
            pools[f[0]] = dict(zip(("size", "avail", "used", "max", "err"), map(int, f[1:])))
        elif f[0] == "tcp_pcbs":
            st.update({f[i]: int(f[i + 1]) for i in range(1, len(f) - 1, 2)})
        elif f[0] == "mbox":
            st["mbox"] = int(f[2])
        elif f[:2] == ["sockets", "open"]:
            st["sockets"] = int(f[2])
        elif f[0].endswith(":") and len(f) >= 2 and f[1].isdigit():
            mem[f[0][:-1]] = int(f[1])
    for name in ("TCP_PCB", "TCP_SEG", "PBUF_POOL", "NETCONN", "NETBUF", "heap"):
        assert name in pools, out
    assert "time_wait" in st and "sockets" in st and "MemFree" in mem, out
    return {
        "held": {
            # A TIME_WAIT pcb is lwIP's own (2 * TCP_MSL, or reused when the
            # pool runs short), and those of earlier tests may expire
            # meanwhile: counted apart.
            "TCP_PCB w/o TIME_WAIT": pools["TCP_PCB"]["used"] - st["time_wait"],
            "TCP_SEG": pools["TCP_SEG"]["used"],
            "PBUF_POOL": pools["PBUF_POOL"]["used"],
            "heap bytes": pools["heap"]["used"],
            "NETCONN": pools["NETCONN"]["used"],
            "NETBUF": pools["NETBUF"]["used"],
            "mailboxes": st["mbox"],
            "sockets": st["sockets"],
            "/proc/net/sockets lines w/o TIME_WAIT": sum(1 for x in socks if x[1] != "TIME_WAIT"),
        },
        "time_wait": [x for x in socks if x[1] == "TIME_WAIT"],
        "free_kb": mem["MemFree"] + mem.get("Buffers", 0),
        "memfree_kb": mem["MemFree"],
    }


def quiet_state(con, timeout=SETTLE_S):
    """A baseline with nothing in flight (no segment queued, no received
    frame held), polled for at most timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        s = net_state(con)
        if (s["held"]["TCP_SEG"] == 0 and s["held"]["PBUF_POOL"] == 0) or \
                time.monotonic() > deadline:
            return s


def settled(con, base, timeout=SETTLE_S):
    """Poll the node until everything it held is back at base (or under)
    and MemFree within MEM_SLACK_KB; the last state and the seconds taken.
    Fails naming what stayed above."""
    t0 = time.monotonic()
    while True:
        s = net_state(con)
        over = {k: (base["held"][k], v) for k, v in s["held"].items() if v > base["held"][k]}
        mem_down = base["free_kb"] - s["free_kb"]
        if not over and mem_down <= MEM_SLACK_KB:
            return s, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(
                f"{con.name}: not back to its baseline {timeout} s after the transfer ended: "
                + ", ".join(f"{k} {b} -> {v}" for k, (b, v) in over.items())
                + f"; MemFree+Buffers {base['free_kb']} -> {s['free_kb']} KiB "
                f"(slack {MEM_SLACK_KB})")


def time_wait_to(state, port):
    """The TIME_WAIT pcbs of connections to or from port."""
    return [x for x in state["time_wait"]
            if x[2].endswith(f":{port}") or x[3].endswith(f":{port}")]


def report(label, base, after, took):
    held = ", ".join(f"{k} {base['held'][k]}->{after['held'][k]}" for k in base["held"])
    print(f"{label}: back in {took:.1f} s: {held}; MemFree {base['memfree_kb']}->"
          f"{after['memfree_kb']} KiB, MemFree+Buffers {base['free_kb']}->{after['free_kb']} KiB")


def test_16mib_tcp_transfer(net):
    nbytes = 16 << 20
    t0 = time.monotonic()
    sent, got = transfer(net, 1, 2, nbytes, 12345, timeout=600)
    wall = time.monotonic() - t0
    assert int(sent.group(1)) == int(got.group(1)) == nbytes, (sent.group(0), got.group(0))
    assert sent.group(2) == got.group(2), (sent.group(0), got.group(0))
    secs = float(got.group(3))
    print(f"16 MiB node1 -> node2: sender {sent.group(3)} s, receiver {secs} s "
          f"({nbytes / 1024 / max(secs, 1e-6):.0f} KiB/s), {wall:.1f} s with the consoles")


def test_udp_echo(net):
    with net.console(1) as srv, net.console(0) as cli:
        port, _ = start_server(srv, "udpecho 0 40")
        out, status = cli.run(f"{NETX} udpping {addr(1)} {port} 40", timeout=120)
        assert status == 0, out
        m = re.search(r"udpping: 40 sent, 40 received, rtt avg ([\d.]+) ms", out)
        assert m, out
        srv.wait_for(r"udpecho: echoed 40\r?\n", timeout=10)
        assert srv.run("echo ok") == ("ok\n", 0)
        print(f"UDP node0 <-> node1: 40 echoes, rtt avg {m.group(1)} ms")


def test_50_concurrent_connections(net):
    with net.console(2) as srv, net.console(0) as cli:
        port, _ = start_server(srv, "echo 0 50")
        out, status = cli.run(f"{NETX} many {addr(2)} {port} 50", timeout=180)
        assert status == 0, out
        assert "many: 50 connected" in out and "many: 50 of 50 echoed" in out, out
        m = srv.wait_for(r"echo: served 50 connections, (\d+) bytes, (\d+) at once\r?\n",
                         timeout=30)
        # All 50 were open together: many opens them all before writing.
        assert int(m.group(2)) == 50, m.group(0)
        assert srv.run("echo ok") == ("ok\n", 0)


def wait_dhcp(con, timeout=30.0):
    """eth0's DHCP lease: slirp forwards to the guest's 10.0.2.15."""
    deadline = time.monotonic() + timeout
    while True:
        out, status = con.run("cat /proc/net/if")
        assert status == 0, out
        if re.search(r"^eth0: .*dhcp bound", out, re.M) or time.monotonic() > deadline:
            return out
        time.sleep(0.5)  # polling the lease; nothing prints when it comes


def test_host_request_through_forwarded_port(net):
    ports = net.http_ports()
    assert sorted(ports) == list(range(NODES)), ports
    assert len(set(ports.values())) == NODES, ports
    with net.console(0) as con:
        assert "dhcp bound" in wait_dhcp(con)
        start_server(con, "http 80 1")
        url = f"http://127.0.0.1:{ports[0]}/shoal-test?x=1"
        with urllib.request.urlopen(url, timeout=60) as r:
            body = r.read().decode()
            assert r.status == 200, (r.status, body)
        assert body == "netx on shoal: GET /shoal-test?x=1 HTTP/1.1\n", body
        con.wait_for(r"http: answered GET /shoal-test\?x=1 HTTP/1\.1\r?\n", timeout=10)
        assert con.run("echo ok") == ("ok\n", 0)
        print(f"host 127.0.0.1:{ports[0]} -> node0 port 80: {body.strip()!r}")


def test_receiver_killed_mid_transfer(net):
    with net.console(2) as rcv, net.console(1) as snd:
        base = {1: quiet_state(snd), 2: quiet_state(rcv)}
        port, pid = start_server(rcv, "sink 0 &")
        snd.drain()
        snd.send(f"\x15{NETX} send {addr(2)} {port} 200000000 7\r")
        rcv.wait_for(r"receiving\r?\n", timeout=30)
        out, status = rcv.run(f"kill -9 {pid}")
        assert status == 0, out
        t0 = time.monotonic()
        m = snd.wait_for(r"send: error after (\d+) bytes: ([^\r\n]+)\r?\n", timeout=60)
        took = time.monotonic() - t0
        assert 0 < int(m.group(1)) < 200000000, m.group(0)
        assert m.group(2) in ("Connection reset by peer", "Broken pipe",
                              "Connection aborted"), m.group(0)
        print(f"sender: {m.group(0).strip()} {took:.1f} s after the kill")
        assert snd.run("echo ok") == ("ok\n", 0)
        out, status = rcv.run("echo ok")
        assert status == 0 and out.endswith("ok\n"), out
        # The killed receiver's socket had unread data: closing it resets
        # the connection, so neither end keeps a pcb, not even TIME_WAIT.
        for n, con in ((1, snd), (2, rcv)):
            after, took = settled(con, base[n])
            report(f"receiver killed, node{n}", base[n], after, took)
            assert time_wait_to(after, port) == [], after["time_wait"]
    # Both nodes still carry a transfer.
    sent, got = transfer(net, 1, 2, 1 << 20, 99, timeout=120)
    assert sent.group(1) == got.group(1) and sent.group(2) == got.group(2)


def test_sender_killed_mid_transfer(net):
    nbytes = 200000000
    with net.console(2) as rcv, net.console(1) as snd:
        base = {1: quiet_state(snd), 2: quiet_state(rcv)}
        port, _ = start_server(rcv, "recv 0")
        out, status = snd.run(f"{NETX} send {addr(2)} {port} {nbytes} 8 & echo pid $!")
        assert status == 0, out
        pid = int(re.search(r"pid (\d+)", out).group(1))
        # Mid-transfer: the connection is up and has data queued.
        deadline = time.monotonic() + 30
        conn_re = re.compile(rf"^tcp ESTABLISHED \S+ {re.escape(addr(2))}:{port} \d+ ([1-9]\d*)$",
                             re.M)
        while not conn_re.search(snd.run("cat /proc/net/sockets")[0]):
            assert time.monotonic() < deadline, "the sender never had data queued"
        out, status = snd.run(f"kill -9 {pid}")
        assert status == 0, out
        # lwIP sends what the dead sender had queued, then FIN: the
        # receiver reads to end of file, short of nbytes.
        m = rcv.wait_for(r"recv: " + SUM_RE, timeout=60)
        assert 0 < int(m.group(1)) < nbytes, m.group(0)
        print(f"receiver after the sender's kill: {m.group(0).strip()}")
        rcv.wait_for(RATE_RE, timeout=30)
        assert rcv.run("echo ok") == ("ok\n", 0)
        # The sender closed first: its end may stay in TIME_WAIT (lwIP's
        # TCP_MSL 60 s: 2 min, or until the pcb pool needs the slot), that
        # one connection at most; the receiver's end is gone.
        for n, con in ((1, snd), (2, rcv)):
            after, took = settled(con, base[n])
            report(f"sender killed, node{n}", base[n], after, took)
            tw = time_wait_to(after, port)
            assert len(tw) <= (1 if n == 1 else 0), tw
            print(f"node{n}: {len(tw)} TIME_WAIT pcb(s) of the killed connection")
    sent, got = transfer(net, 1, 2, 1 << 20, 98, timeout=120)
    assert sent.group(1) == got.group(1) and sent.group(2) == got.group(2)


def test_ports_command(net, cli):
    r = cli("ports", dir=net.lay.dir)
    assert r.returncode == 0, r.stdout + r.stderr
    ports = net.http_ports()
    assert r.stdout.splitlines() == [f"node {n}: http://127.0.0.1:{ports[n]} -> node {n} port 80"
                                     for n in range(NODES)], r.stdout


def test_lossy_link(make_cluster):
    """Two switches joined by wirefilter (5% loss, 20 ms each way): node0
    on one, node1 on the other. TCP still delivers every byte intact."""
    c = make_cluster("tcplink", nodes=2, boot="direct", link="loss=5,delay=20", disk_mb=0)
    with c.console(0) as con:
        out, status = con.run("cat /proc/net/ping/10.10.0.1:10/echo", timeout=60)
        assert status == 0, out
        rtts = [float(x) for x in re.findall(r"reply ([\d.]+) ms", out)]
        assert rtts and min(rtts) >= 40, out
    nbytes = 512 << 10
    sent, got = transfer(c, 0, 1, nbytes, 4242, timeout=600)
    assert int(sent.group(1)) == int(got.group(1)) == nbytes, (sent.group(0), got.group(0))
    assert sent.group(2) == got.group(2), (sent.group(0), got.group(0))
    print(f"512 KiB node0 -> node1 over 5% loss, 20 ms each way: {got.group(3)} s; "
          f"ping rtt min {min(rtts):.1f} ms, {len(rtts)}/10 answered")
