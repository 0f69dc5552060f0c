"""test_tty.py — the console terminal (fs/tty.c): the line discipline's
self-tests; /bin/tests/ttytest (TAP) with its interactive steps typed here
(line editing, end of file, echo off, raw bytes, VMIN, FIONREAD, ^C while
the program computes); ^C ending a busy program; the kernel monitor taking
the terminal back from a program that left it raw; /proc/tty/console."""

import re
import secrets


def start(con, cmd):
    """Type cmd followed by a status marker, as con.run does, without
    waiting: the program reads what the test types next."""
    marker = f"@@{secrets.token_hex(4)}@@"
    con.drain()
    begin = con.pos
    con.send(f"\x15{cmd}; echo {marker} $?\r")
    return marker, begin


def finish(con, marker, begin, timeout=60):
    m = con.wait_for(re.compile(r"(?<!echo )" + marker + r" (\d+)\r?\n"), timeout)
    return con.text[begin:m.start()].replace("\r\n", "\n"), int(m.group(1))


def test_tty_selftests(oneshot):
    run = oneshot("node=0 selftest=tty")
    results = re.findall(r"^(not ok|ok) \d+ - (\S+)", run.log, re.M)
    assert len(results) >= 6, run.log
    assert all(r[0] == "ok" for r in results), run.log
    assert run.status == 1, run.log


def test_ttytest(make_cluster):
    c = make_cluster("tty", nodes=1, boot="direct", append="init=monitor")
    with c.console(0) as con:
        marker, begin = start(con, "exec /bin/tests/ttytest")
        steps = [
            ("canon", "helo\x7flo wrld\x17world\r"),
            ("eof", "abc\x04\x04"),
            ("noecho", "secret\r"),
            ("raw", "x\x03\r"),
            ("vmin", "123"),
            ("fionread", "abcd\r"),
            ("isig", "junk\x03"),
        ]
        for step, text in steps:
            con.wait_for(rf"# READY {step}\r?\n", 60)
            con.send(text)
        out, status = finish(con, marker, begin)
        assert re.search(r"^1\.\.\d+$", out, re.M), out
        failed = re.findall(r"^not ok .*$", out, re.M)
        assert not failed and status == 0, out
        # Echo: erase rubs out, ^W a word, ^C shows as ^C; nothing echoed
        # with ECHO off or in raw mode.
        assert "helo\b \blo wrld\b \b\b \b\b \b\b \bworld\n" in out, out
        assert re.search(r"# READY isig\n(.*\n)?junk\^C", out), out
        between = re.search(r"# READY noecho\n(.*?)ok \d+", out, re.S).group(1)
        assert "secret" not in between, out
        between = re.search(r"# READY raw\n(.*?)ok \d+", out, re.S).group(1)
        assert between == "", out


def test_interrupt_and_reclaim(make_cluster):
    c = make_cluster("tty2", nodes=1, boot="direct", append="init=monitor")
    with c.console(0) as con:
        # ^C reaches a program that computes and never reads.
        marker, begin = start(con, "exec /bin/tests/ttytest spin")
        con.wait_for(r"# READY spin\r?\n", 60)
        con.send("\x03")
        out, status = finish(con, marker, begin, timeout=30)
        assert "^C" in out and status == 128 + 2, out

        # A program leaves the terminal raw; the monitor still reads lines.
        out, status = con.run("exec /bin/tests/ttytest raw-exit")
        assert status == 0, out
        assert con.run("node") == ("node 0\n", 0)

        # ^C at the monitor abandons the typed line.
        con.send("\x15abc\x03")
        con.wait_for(r"abc\^C\r?\n", 10)
        assert con.run("node") == ("node 0\n", 0)

        out, status = con.run("cat /proc/tty/console")
        assert status == 0, out
        assert re.search(r"^session:\s+0$", out, re.M), out
        assert re.search(r"^lflag:\s+\d+ ISIG ICANON ECHO", out, re.M), out
        m = re.search(r"^isig:\s+SIGINT (\d+)", out, re.M)
        assert m and int(m.group(1)) >= 2, out
        m = re.search(r"^signals:\s+sent (\d+)", out, re.M)
        assert m and int(m.group(1)) >= 1, out
