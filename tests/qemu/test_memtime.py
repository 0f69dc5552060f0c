"""test_memtime.py — the memory, time and miscellaneous system calls
(kern/sys_mem.c, sys_time.c, sys_misc.c): user/tests/memtime runs on a
directly booted node and prints TAP; every point must pass (SKIPs count as
passes), the plan must be complete and the process must exit 0. Then the
same calls as busybox makes them: uname -a, a sleep that takes its time,
and date."""

import re
import time


def run_tap(con, cmd):
    out, status = con.run(cmd, timeout=120)
    failed = re.findall(r"^not ok .*$", out, re.M)
    assert not failed, "\n".join(failed) + "\n" + out
    plan = re.search(r"^1\.\.(\d+)$", out, re.M)
    assert plan, out
    passed = re.findall(r"^ok (\d+) - ", out, re.M)
    assert len(passed) == int(plan.group(1)) > 100, out
    assert status == 0, out
    return out


def test_memtime(make_cluster):
    c = make_cluster("memtime", nodes=1, boot="direct", append="init=monitor")
    with c.console(0) as con:
        run_tap(con, "exec /bin/tests/memtime")

        out, status = con.run("exec /bin/busybox uname -a")
        assert status == 0, out
        assert re.search(r"^Shoal node0 0\.4\.0 .* x86_64", out, re.M), out

        t0 = time.monotonic()
        out, status = con.run("exec /bin/busybox sleep 1")
        assert status == 0, out
        assert time.monotonic() - t0 >= 1.0, out

        out, status = con.run("exec /bin/busybox date +%Y")
        assert status == 0, out
        assert re.search(r"^20\d\d$", out, re.M), out
