"""test_user.py — user processes (issue 4): a static musl program runs in
ring 3 on a directly booted node, prints through write/writev, allocates
with brk/mmap and its exit status comes back through the monitor's exec;
a faulting program is killed and the node keeps going."""

import re


def test_exec_hello(make_cluster):
    c = make_cluster("user", nodes=1, boot="direct")
    with c.console(0) as con:
        out, status = con.run("exec /bin/hello")
        assert status == 7, out
        assert re.search(r"^hello from ring 3 \(pid \d+\)$", out, re.M), out
        assert re.search(r"^shoal: pid \d+ \(hello\) exited with status 7$", out, re.M), out

        out, status = con.run("exec /bin/tests/fault")
        assert status == 128 + 11, out
        assert "fault: write with a bad pointer gave EFAULT" in out, out
        assert re.search(r"killed by SIGSEGV: #PF page fault at rip \S+ addr 0xdead0000", out), out

        assert con.run("node") == ("node 0\n", 0)
        out, status = con.run("exec /bin/nope")
        assert status == 126, out
