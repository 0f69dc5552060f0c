"""test_user.py — user processes: a static musl program runs in ring 3 on
a directly booted node, prints through write/writev, allocates with
brk/mmap and its exit status comes back through the shell's $?; a faulting
program is killed with SIGSEGV, the kernel says why, and the node keeps
going; what cannot run gets the shell's 126/127. (The kernel monitor's
`exec` is tested in test_monitor.py.)"""

import re


def test_exec_hello(make_cluster):
    c = make_cluster("user", nodes=1, boot="direct")
    with c.console(0) as con:
        out, status = con.run("/bin/hello")
        assert status == 7, out
        assert re.search(r"^hello from ring 3 \(pid \d+\)$", out, re.M), out
        pid = re.search(r"\(pid (\d+)\)", out).group(1)
        # It is gone: no zombie, no /proc entry.
        out, status = con.run(f"cat /proc/{pid}/status")
        assert status == 1, out

        out, status = con.run("/bin/tests/fault")
        assert status == 128 + 11, out
        assert "fault: write with a bad pointer gave EFAULT" in out, out
        assert re.search(r"killed by SIGSEGV: #PF page fault at rip \S+ addr 0xdead0000", out), out

        assert con.run("echo $HOSTNAME") == ("node0\n", 0)
        out, status = con.run("/bin/nope")
        assert status == 127, out
        assert out == "sh: /bin/nope: No such file or directory\n", out
        out, status = con.run("/etc/motd")  # not executable
        assert status == 126, out
