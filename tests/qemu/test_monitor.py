"""test_monitor.py — the kernel monitor (kern/monitor.c), which has the
console with the boot option init=monitor, or when init cannot start: its
commands (node, log, uptime, mem, the file commands, exec), its errors and
statuses, and tools/cluster run through it. One directly booted node for
the module; the fallback test boots its own."""

import re

import pytest


@pytest.fixture(scope="module")
def node(module_cluster):
    return module_cluster("monitor", nodes=1, boot="direct", append="init=monitor", fresh=True)


@pytest.fixture
def con(node):
    with node.console(0) as c:
        yield c


def run(con, cmd, status=0):
    out, st = con.run(cmd, timeout=30)
    assert st == status, f"{cmd!r}: status {st}, want {status}; output:\n{out}"
    return out


def test_basic_commands(con):
    assert run(con, "node") == "node 0\n"
    log = run(con, "log")
    assert re.search(r"loader PVH, command line 'node=0 init=monitor'", log), log
    assert "rc:" not in log  # no init, no /etc/rc
    assert re.match(r"up \d+\.\d{3} s", run(con, "uptime"))
    assert re.search(r"^total +\d+ KiB$", run(con, "mem"), re.M)
    assert run(con, "echo two  words") == "two words\n"
    assert run(con, "no-such-command", status=127) == \
        "no-such-command: unknown command (try 'help')\n"
    assert run(con, "no-such-command; node") == \
        "no-such-command: unknown command (try 'help')\nnode 0\n"
    con.send("\r")
    con.wait_for(r"shoal:0> ", timeout=10)


def test_run_through_the_tool(node, cli):
    r = cli("run", "0", "node", dir=node.lay.dir)
    assert (r.returncode, r.stdout) == (0, "node 0\n"), r.stderr
    r = cli("run", "0", "no-such-command", dir=node.lay.dir)
    assert (r.returncode, r.stdout) == (127, "no-such-command: unknown command (try 'help')\n")


def test_exec(con):
    out = run(con, "exec /bin/hello", status=7)
    assert re.search(r"^hello from ring 3 \(pid \d+\)$", out, re.M), out
    assert re.search(r"^shoal: pid \d+ \(hello\) exited with status 7$", out, re.M), out
    out = run(con, "exec /bin/tests/fault", status=128 + 11)
    assert "fault: write with a bad pointer gave EFAULT" in out, out
    assert re.search(r"killed by SIGSEGV: #PF page fault at rip \S+ addr 0xdead0000", out), out
    assert run(con, "node") == "node 0\n"
    run(con, "exec /bin/nope", status=126)


def test_file_commands(con):
    mounts = run(con, "mounts")
    assert "/dev/root / ext2 rw 0 0\n" in mounts
    assert "/dev/vda /data ext2 rw 0 0\n" in mounts
    assert "proc /proc proc rw 0 0\n" in mounts
    run(con, "mkdir /data/dir; write /data/dir/hello.txt hello from shoal")
    run(con, "append /data/dir/hello.txt second line")
    run(con, "write /data/dir/tmp gone soon; mv /data/dir/tmp /data/moved; rm /data/moved")
    run(con, "mkdir /data/a; mkdir /data/b; write /data/a/f across; mv /data/a/f /data/b/f")
    run(con, "ln -s dir/hello.txt /data/link")
    assert run(con, "cat /data/link") == "hello from shoal\nsecond line\n"
    assert run(con, "mv /data/b/f /b-f", status=1) == "mv: /data/b/f: cross-device link\n"
    assert run(con, "rmdir /data/dir", status=1) == "rmdir: /data/dir: directory not empty\n"
    assert run(con, "cat /data/nothing", status=1) == \
        "cat: /data/nothing: no such file or directory\n"
    assert re.search(r"^-rw-r--r--  1 +29 hello\.txt$", run(con, "ls /data/dir"), re.M)
    run(con, "rm /data/dir/hello.txt; rmdir /data/dir; rm /data/link; rm /data/b/f")
    run(con, "rmdir /data/a; rmdir /data/b; sync")


def test_monitor_when_init_cannot_start(make_cluster):
    c = make_cluster("noinit", nodes=1, boot="direct", append="init=/bin/no-such-init")
    with c.console(0) as con:
        out = run(con, "node")
        assert out == "node 0\n", out
        log = run(con, "log")
        assert re.search(r"shoal: cannot start init /bin/no-such-init: .*; the kernel monitor "
                         r"has the console", log), log
