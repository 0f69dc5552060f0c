"""test_net_programs.py — the network programs on a 2-node cluster booted
directly: ping over a raw ICMP socket (node0 → node1, 0% loss), ip addr
showing 10.10.0.N, httpd on node1 in the background fetched by nc from
node0, and ss listing httpd's listening socket (/proc/net/sockets).
Waits are on console output with timeouts."""
import re

import pytest


@pytest.fixture(scope="module")
def cl(module_cluster):
    return module_cluster("netprogs", nodes=2, boot="direct")


def test_ping(cl):
    with cl.console(0) as con:
        out, status = con.run("ping -c 3 -i 0.2 node1", timeout=30)
        print(out)
        assert status == 0, out
        assert len(re.findall(r"bytes from 10\.10\.0\.1: icmp_seq=\d time=[\d.]+ ms", out)) == 3, out
        assert "3 packets transmitted, 3 received, 0% packet loss" in out, out


def test_ip(cl):
    for n in range(2):
        with cl.console(n) as con:
            out, status = con.run("ip addr")
            assert status == 0 and f"inet 10.10.0.{n}/16 static" in out, out
            out, status = con.run("ip route")
            assert status == 0 and "default via 10.0.2.2 dev eth0" in out, out
            out, status = con.run("ip link")
            assert status == 0 and "RX: bytes" in out, out


def test_httpd_nc_ss(cl):
    with cl.console(1) as con:
        out, status = con.run("httpd -p 80 -d /etc 2>/data/httpd.log & true")
        assert status == 0, out
        # The server starts in the background: ask until it listens (each
        # try waits on the console's answer; at most ~50 tries).
        listening = re.compile(r"tcp\s+LISTEN\s+0\s+0\s+0\.0\.0\.0:80\b")
        for _ in range(50):
            out, status = con.run("ss -l")
            if listening.search(out):
                break
        assert listening.search(out), out
    with cl.console(0) as con:
        out, status = con.run("echo -e 'GET /hosts HTTP/1.0\\r\\n\\r' | nc node1 80", timeout=30)
        print(out)
        assert status == 0 and "HTTP/1.0 200 OK" in out and "node63" in out, out
        out, status = con.run("echo -e 'GET /nope HTTP/1.0\\r\\n\\r' | nc node1 80", timeout=30)
        assert "HTTP/1.0 404" in out, out
    with cl.console(1) as con:
        # httpd logs a request after answering it: the second line may
        # still be on its way when nc has its answer (a few tries).
        for _ in range(20):
            out, status = con.run("cat /data/httpd.log")
            if " 404 " in out:
                break
        assert '"GET /hosts HTTP/1.0" 200' in out and " 404 " in out, out
        out, status = con.run("ss -a")
        print(out)
        assert status == 0 and "LISTEN" in out, out
