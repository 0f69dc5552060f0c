"""Console.run (tools/lib/shoal/console.py) against a scripted shell on a
unix socket: what it returns when the shell's job notice lands inside the
echo of the typed line (seen once under a loaded host: `[1]+  Done ...`
printed while the tty echoed `cat /data/mh.out; echo @@…@@ $?`, and the
whole echo came back as output)."""
import pathlib
import re
import socket
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "lib"))

from shoal.console import Console  # noqa: E402

NOTICE = "[1]+  Done                    /bin/tests/memhash -m 32 >/data/mh.out\r\n"


def fake_shell(server, notice_at):
    """Accept one client; echo each typed line, with NOTICE inserted after
    `notice_at` characters of it (None: not at all), then answer as the
    shell would: the output, the marker with status 0, a prompt."""
    conn, _ = server.accept()
    with conn:
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                text = line.decode().lstrip("\x15")
                echo = text if notice_at is None else \
                    text[:notice_at] + NOTICE + text[notice_at:]
                marker = re.search(r"@@[0-9a-f]+@@", text).group(0)
                conn.sendall((echo + "\r\nround 1 hash 1234\r\n" + marker +
                              " 0\r\nnode0$ ").encode())


def run_against(tmp_path, notice_at):
    path = str(tmp_path / f"con{notice_at}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    t = threading.Thread(target=fake_shell, args=(server, notice_at), daemon=True)
    t.start()
    try:
        with Console(path, name="fake") as con:
            return con.run("cat /data/mh.out")
    finally:
        server.close()


def test_run_output_plain(tmp_path):
    assert run_against(tmp_path, None) == ("round 1 hash 1234\n", 0)


def test_run_output_with_a_job_notice_inside_the_echo(tmp_path):
    # Inside the marker, as seen, and inside the command.
    for at in (len("cat /data/mh.out; echo @@ab"), 4):
        assert run_against(tmp_path, at) == ("round 1 hash 1234\n", 0), at
