"""test_fs_calls.py — the file, directory and descriptor system calls
(kern/sys_fs.c, sys_path.c, sys_poll.c): user/tests/fscalls runs on a
directly booted node and prints TAP; every point must pass, the plan must
be complete, and the process must exit 0."""

import re


def test_fs_calls(make_cluster):
    c = make_cluster("fscalls", nodes=1, boot="direct", append="init=monitor")
    with c.console(0) as con:
        out, status = con.run("exec /bin/tests/fscalls", timeout=120)
        failed = re.findall(r"^not ok .*$", out, re.M)
        assert not failed, "\n".join(failed) + "\n" + out
        plan = re.search(r"^1\.\.(\d+)$", out, re.M)
        assert plan, out
        passed = re.findall(r"^ok (\d+) - ", out, re.M)
        assert len(passed) == int(plan.group(1)) > 150, out
        assert status == 0, out
