"""The network programs of user/ (httpd, nc, ping) run natively on the host.

They are static Linux binaries, so the Shoal ones run here unchanged:
httpd on 127.0.0.1 with a free port, fetched by urllib (200/404/403/405
and a raw malformed request: 400); nc against a Python socket server and
as a listener fed by a Python client; usage errors exit 2. Waits are on
sockets and output with timeouts. Skipped without musl-gcc.
"""
import pathlib
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS = ["nc", "httpd", "ip", "ss", "ping"]

pytestmark = pytest.mark.skipif(shutil.which("musl-gcc") is None,
                                reason="musl-gcc not installed (tools/deps)")


@pytest.fixture(scope="module")
def bindir(build_programs):
    return build_programs("netprogs", PROGRAMS)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def httpd(bindir, tmp_path):
    (tmp_path / "a.txt").write_text("hello\n")
    (tmp_path / "index.html").write_text("<p>hi</p>\n")
    port = free_port()
    p = subprocess.Popen([str(bindir / "httpd"), "-p", str(port), "-d", str(tmp_path)],
                         stderr=subprocess.PIPE, text=True)
    assert "serving" in p.stderr.readline()
    yield port, p
    p.kill()
    p.wait()


def get(port, path, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out


def test_httpd_codes(httpd):
    port, p = httpd
    st, h, body = get(port, "/a.txt")
    assert (st, body, h["Content-Length"], h["Content-Type"]) == \
        (200, b"hello\n", "6", "text/plain")
    assert get(port, "/")[0:3:2] == (200, b"<p>hi</p>\n")
    assert get(port, "/missing")[0] == 404
    assert get(port, "/a.txt", method="POST")[0] == 405
    assert raw(port, b"GET /../etc/passwd HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 403 ")
    assert raw(port, b"GET /%2e%2e/etc/passwd HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 403 ")
    assert raw(port, b"garbage\r\n\r\n").startswith(b"HTTP/1.0 400 ")
    assert raw(port, b"GET /a%zz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 400 ")
    assert raw(port, b"\x00\xff" * 5000).startswith(b"HTTP/1.0 400 ")
    assert raw(port, b"").startswith(b"HTTP/1.0 400 ")
    # still alive after the hostile ones, and it logged every request
    assert get(port, "/a.txt")[0] == 200
    assert p.poll() is None
    p.kill()
    log = p.stderr.read()
    assert '"GET /a.txt HTTP/1.1" 200 6' in log and " 404 " in log and " 403 " in log


def test_httpd_once(bindir, tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 200000)
    port = free_port()
    p = subprocess.Popen([str(bindir / "httpd"), "--once", "-p", str(port), "-d", str(tmp_path)],
                         stderr=subprocess.PIPE, text=True)
    assert "serving" in p.stderr.readline()
    st, h, body = get(port, "/f")
    assert st == 200 and body == b"x" * 200000
    assert p.wait(timeout=10) == 0


def test_nc_connect(bindir):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def serve():
        c, _ = srv.accept()
        data = b""
        while chunk := c.recv(4096):
            data += chunk
        got.append(data)
        c.sendall(b"reply\n")
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    r = subprocess.run([str(bindir / "nc"), "127.0.0.1", str(srv.getsockname()[1])],
                       input=b"request\n" * 1000, capture_output=True, timeout=20)
    t.join(10)
    srv.close()
    assert r.returncode == 0 and r.stdout == b"reply\n"
    assert got == [b"request\n" * 1000]


def test_nc_listen(bindir):
    port = free_port()
    p = subprocess.Popen([str(bindir / "nc"), "-l", str(port)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    for _ in range(200):  # until it listens: connect retries, bounded
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except ConnectionRefusedError:
            threading.Event().wait(0.05)
    c.sendall(b"to nc\n")
    c.shutdown(socket.SHUT_WR)
    out, _ = p.communicate(b"to client\n", timeout=20)
    assert out == b"to nc\n" and p.returncode == 0
    assert c.recv(100) == b"to client\n"
    c.close()


def test_nc_udp(bindir):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    r = subprocess.run([str(bindir / "nc"), "-u", "-q", "0", "127.0.0.1",
                        str(s.getsockname()[1])], input=b"dgram\n", timeout=10)
    assert r.returncode == 0
    s.settimeout(5)
    assert s.recv(100) == b"dgram\n"
    s.close()


@pytest.mark.parametrize("argv", [["nc"], ["nc", "-l"], ["nc", "h", "0"], ["nc", "-x"],
                                  ["httpd", "-p", "0"], ["httpd", "extra"],
                                  ["ping"], ["ping", "-c", "0", "h"], ["ip", "bogus"],
                                  ["ss", "-z"]])
def test_usage(bindir, argv):
    r = subprocess.run([str(bindir / argv[0]), *argv[1:]], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and r.stderr.startswith(argv[0] + ": "), r.stderr


@pytest.mark.parametrize("prog", PROGRAMS)
def test_help(bindir, prog):
    r = subprocess.run([str(bindir / prog), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: " + prog)


def test_nc_refused(bindir):
    r = subprocess.run([str(bindir / "nc"), "127.0.0.1", str(free_port())],
                       capture_output=True, text=True, timeout=10, input="")
    assert r.returncode == 1 and "refused" in r.stderr
