"""test_boot.py — single nodes: PXE and direct boot (up to the console
shell that init starts), the in-kernel self-tests, the exception report,
and `tools/cluster up` failing cleanly when a node cannot come up."""

import os
import re
import time

import pytest



def test_pxe_boot(cli, cluster_dir, kernel):
    """The real boot chain: iPXE, DHCP + TFTP from QEMU, GRUB, multiboot2."""
    d = cluster_dir("pxe")
    cli("down", dir=d)
    try:
        r = cli("up", "-n", "1", "--boot", "pxe", "--kernel", kernel[0], "--root", kernel[1],
                dir=d)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"^node 0: up in \d+\.\d s \(pid \d+, pxe, tcg\)$", r.stdout, re.M), \
            r.stdout
        with open(f"{d}/node0.log", "rb") as f:
            log = f.read().decode(errors="replace")
        assert "loader GRUB" in log
        assert re.search(r"command line '[^']*\bnode=0\b", log)
        size = os.path.getsize(kernel[1])
        assert re.search(rf"module 'root' at \S+, {size} bytes", log), log
        assert re.search(r"^rc: node0 up\r?$", log, re.M), log  # init ran /etc/rc
        r = cli("run", "0", "echo $HOSTNAME", dir=d)
        assert (r.returncode, r.stdout) == (0, "node0\n"), r.stderr
    finally:
        cli("down", dir=d)


def test_direct_boot(make_cluster):
    """qboot + the PVH entry: no firmware to speak of."""
    c = make_cluster("direct", nodes=1, boot="direct", append="loglevel=6")
    with c.console(0) as con:
        assert con.run("echo $HOSTNAME") == ("node0\n", 0)
        out, status = con.run("dmesg")
        assert status == 0
        assert re.search(r"loader PVH, command line 'node=0 loglevel=6'", out), out
        assert re.search(r"^shoal: node 0 ready$", out, re.M), out
        # init (pid 1) started the console shell: the first run() already
        # got a clean answer, so `up` waited for the shell's prompt.
        out, status = con.run("ps")
        assert status == 0
        assert re.search(r"^ +1 +0 +S +0 +\S+ /bin/init$", out, re.M), out
        assert re.search(r"^ +\d+ +1 +S +0 +\S+ -sh$", out, re.M), out


def test_selftests_pass(oneshot):
    run = oneshot("node=0 selftest")
    plan = re.search(r"^1\.\.(\d+)$", run.log, re.M)
    assert plan, run.log
    results = re.findall(r"^(not ok|ok) \d+ - (\S+)", run.log, re.M)
    assert len(results) == int(plan.group(1)) >= 1, run.log
    assert all(r[0] == "ok" for r in results), [r[1] for r in results if r[0] != "ok"]
    assert "crash" not in [r[1] for r in results]  # explicit-only
    assert run.status == 1, f"QEMU exit status {run.status} (1 = all passed, 3 = failure)"


@pytest.mark.allow("exception")
def test_selftest_crash_report(oneshot):
    """A fault in a self-test prints the exception block and fails the run."""
    run = oneshot("node=0 selftest=crash")
    assert "SHOAL EXCEPTION: #PF page fault" in run.log, run.log
    assert re.search(r"^cr2 0+10\b", run.log, re.M), run.log
    bt = run.log[run.log.find("backtrace:"):]
    assert run.log.find("backtrace:") >= 0 and re.search(r"crash_deref\+0x[0-9a-f]+", bt), run.log
    assert run.status == 3, f"QEMU exit status {run.status}, want 3 (failure)"


def test_up_fails_when_a_node_never_gets_ready(cli, cluster_dir, kernel):
    """A kernel that stops before its ready line (no matching self-test,
    no isa-debug-exit: it halts) makes `up` fail with the log tail."""
    d = cluster_dir("neverready")
    cli("down", dir=d)  # left by an interrupted run?
    t0 = time.monotonic()
    r = cli("up", "-n", "2", "--boot", "direct", "--append", "selftest=no-such-test",
            "--timeout", "8", "--kernel", kernel[0], dir=d)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stdout + r.stderr
    assert "node 0 did not come up: no ready line within 8 s" in r.stderr
    assert "node 1 did not come up" in r.stderr
    assert "self-tests done" in r.stderr  # the log tail
    assert "cluster stopped" in r.stderr
    assert took < 8 + 10
    assert cli("status", dir=d).returncode == 1  # nothing left running


def test_up_fails_when_qemu_exits(cli, cluster_dir, workdir):
    """A kernel file QEMU cannot load: `up` fails at once with QEMU's words."""
    bogus = workdir / "bogus.elf"
    bogus.write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    d = cluster_dir("bogus")
    cli("down", dir=d)  # left by an interrupted run?
    t0 = time.monotonic()
    r = cli("up", "-n", "1", "--boot", "direct", "--kernel", bogus, "--timeout", "60", dir=d)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "node 0 did not come up: QEMU exited with status 1" in r.stderr
    assert "QEMU's messages" in r.stderr
    assert time.monotonic() - t0 < 20


def test_up_fails_when_grub_cannot_boot(cli, cluster_dir, workdir):
    """By PXE, GRUB rejects a bogus kernel and falls back to its prompt."""
    bogus = workdir / "bogus.elf"
    bogus.write_bytes(b"not a kernel\n" * 100)
    d = cluster_dir("grubfail")
    cli("down", dir=d)  # left by an interrupted run?
    r = cli("up", "-n", "1", "--boot", "pxe", "--kernel", bogus, "--timeout", "60", dir=d)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "GRUB could not boot the kernel" in r.stderr
    assert "error:" in r.stderr  # GRUB's message, from the log tail
