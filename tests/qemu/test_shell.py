"""test_shell.py — the console shell (/bin/sh, user/sh/, docs/shell.md) and
the system beneath it, driven through the console of one directly booted
node that the whole module shares (one boot; the last test reboots it):
pipelines, redirections into files on /data that survive a reboot,
background jobs, ^C, ^Z and fg, a 200-process fork storm, a faulting program, busybox
applets, ps, cd/pwd, variables, quoting, && and ||, $?, writing
/proc/PID/lock with `echo N >`, and no memory leaked by a batch of all of
these.

Every wait is on console output with a timeout; nothing sleeps."""

import re
import time

import pytest

from shoal.console import ConsoleTimeout

NODE_PROMPT = r"node0\$ "

# The kernel's note about a system call it lacks (rate-limited, KERN_WARN).
# It lands in the middle of a program's output on the console; busybox
# (glibc) makes such calls at start-up and does without them.
ENOSYS_NOTE_RE = re.compile(r"^shoal: pid \d+ \([^)]*\): system call \d+ not implemented\n",
                            re.M)


@pytest.fixture(scope="module")
def node(module_cluster):
    return module_cluster("shell", nodes=1, boot="direct", fresh=True)


@pytest.fixture
def con(node):
    with node.console(0) as c:
        yield c


def sh(con, cmd, status=0, timeout=30):
    """Run cmd; check its status; return its output without ENOSYS notes."""
    out, st = con.run(cmd, timeout=timeout)
    out = ENOSYS_NOTE_RE.sub("", out)
    assert st == status, f"{cmd!r}: status {st}, want {status}; output:\n{out}"
    return out


def words(text):
    return text.split()


# ---------------------------------------------------------------- syntax
def test_pipelines(con):
    listing = sh(con, "ls /bin").splitlines()
    want = sum("sh" in name for name in listing)
    assert want >= 1 and "sh" in listing, listing
    assert sh(con, "ls /bin | grep sh | wc -l").strip() == str(want)
    assert sh(con, "cat /proc/mounts | grep /data | busybox wc -l").strip() == "1"
    assert sh(con, "echo -e 'b\\na\\nc' | busybox sort | head -n 2") == "a\nb\n"
    # A pipeline's status is its last command's.
    assert sh(con, "true | false", status=1) == ""
    assert sh(con, "false | true") == ""
    assert sh(con, "! true | true", status=1) == ""


def test_and_or_and_status(con):
    assert sh(con, "false && echo no || echo yes") == "yes\n"
    assert sh(con, "true && echo yes && echo again") == "yes\nagain\n"
    assert sh(con, "true || echo no") == ""
    assert sh(con, "false; echo $?") == "1\n"
    assert sh(con, "(exit 3); echo $?") == "3\n"
    assert sh(con, "! true; echo $?") == "1\n"
    assert sh(con, "no-such-command; echo $?") == "sh: no-such-command: not found\n127\n"
    assert sh(con, "/bin; echo $?") == "sh: /bin: is a directory\n126\n"
    assert sh(con, "/etc/motd; echo $?") == "sh: /etc/motd: Permission denied\n126\n"
    assert sh(con, "no-such-command", status=127) == "sh: no-such-command: not found\n"


def test_quoting(con):
    assert sh(con, "X='two  spaces'; echo 'a  $X' \"b  $X\" c\\ \\ d $X") == \
        "a  $X b  two  spaces c  d two spaces\n"
    assert sh(con, "echo \"$(echo sub  stitution)\" `echo back`") == "sub stitution back\n"
    assert sh(con, "echo 'semi;colon' \"a|b\" 'x && y' \\$HOME") == "semi;colon a|b x && y $HOME\n"
    assert sh(con, "echo ${UNSET_VAR:-default} ${#HOSTNAME}") == "default 5\n"


def test_variables_and_export(con):
    assert sh(con, "echo $HOSTNAME") == "node0\n"
    assert sh(con, "LOCAL_ONLY=1; echo $LOCAL_ONLY; env | grep LOCAL_ONLY", status=1) == "1\n"
    assert sh(con, "export SHOAL_T=exported; env | grep SHOAL_T") == "SHOAL_T=exported\n"
    assert sh(con, "echo $SHOAL_T") == "exported\n"  # kept by the shell across lines
    assert sh(con, "ONCE=temp env | grep ONCE") == "ONCE=temp\n"
    assert sh(con, "env | grep ONCE", status=1) == ""
    assert sh(con, "busybox sh -c 'echo $SHOAL_T'") == "exported\n"
    assert sh(con, "unset SHOAL_T; env | grep SHOAL_T", status=1) == ""


def test_cd_and_pwd(con):
    try:
        assert sh(con, "cd /data; pwd") == "/data\n"
        assert sh(con, "pwd; echo $PWD") == "/data\n/data\n"  # the shell kept it
        assert sh(con, "ls /bin > here.txt; ls | grep here") == "here.txt\n"
        assert sh(con, "cd /nonexistent", status=1) == \
            "sh: cd: /nonexistent: No such file or directory\n"
        assert sh(con, "pwd") == "/data\n"
        assert sh(con, "cd /proc && pwd && cd - >/dev/null && pwd") == "/proc\n/data\n"
        assert sh(con, "cd ..; pwd") == "/\n"
        assert sh(con, "busybox pwd") == "/\n"
    finally:
        sh(con, "rm /data/here.txt; cd /")


# ---------------------------------------------------------------- jobs
def test_background_jobs(con):
    t0 = time.monotonic()
    out = sh(con, "sleep 2 & jobs; wait")
    took = time.monotonic() - t0
    assert re.search(r"^\[1\] \d+$", out, re.M), out
    assert re.search(r"^\[1\]\+ +Running +sleep 2$", out, re.M), out
    assert took >= 1.9, f"wait returned after {took:.2f} s"

    out = sh(con, "sleep 1 & echo $!; wait $!; echo $?")
    pid = re.search(r"^\[1\] (\d+)$", out, re.M)
    assert pid and out.endswith(f"\n{pid.group(1)}\n0\n"), out

    out = sh(con, "sleep 30 & kill %1; wait %1; echo $?")
    assert out.endswith("\n143\n"), out  # SIGTERM

    # Two at once, then nothing left over.
    out = sh(con, "sleep 1 & sleep 1 & jobs; wait; jobs")
    assert len(re.findall(r"Running +sleep 1$", out, re.M)) == 2, out
    assert sh(con, "jobs") == ""


def test_ctrl_c_interrupts_the_foreground_job(con):
    con.drain()
    t0 = time.monotonic()
    con.send("\x15sleep 30\r")
    con.wait_for(r"sleep 30\r?\n", timeout=10)
    # A ^C that arrives before the shell has handed the terminal to the
    # job reaches the shell, which ignores it: send it again until the
    # prompt is back (each try waits on output, at most 2 s).
    for _ in range(10):
        con.send("\x03")
        try:
            con.wait_for(NODE_PROMPT, timeout=2)
            break
        except ConsoleTimeout:  # sleep still runs
            continue
    else:
        pytest.fail("^C did not interrupt sleep 30")
    took = time.monotonic() - t0
    assert took < 25, f"the prompt came back after {took:.1f} s: sleep was not interrupted"
    out = sh(con, "echo $?")
    assert out.splitlines()[-1] == "130", out
    # The shell itself survived and still runs commands.
    assert sh(con, "echo $HOSTNAME") == "node0\n"
    assert "sleep" not in sh(con, "ps")


def test_ctrl_z_stops_and_fg_continues(con):
    """^Z stops the foreground job (SIGTSTP to its process group, the
    shell's wait4 sees WUNTRACED), jobs lists it, fg sends SIGCONT and
    waits for it to end."""
    con.drain()
    con.send("\x15sleep 4\r")
    con.wait_for(r"sleep 4\r?\n", timeout=10)
    for _ in range(10):  # as for ^C: until the job, not the shell, gets it
        con.send("\x1a")
        try:
            con.wait_for(r"Stopped", timeout=2)
            break
        except ConsoleTimeout:
            continue
    else:
        pytest.fail("^Z did not stop sleep 4")
    con.wait_for(NODE_PROMPT, timeout=10)
    out = sh(con, "jobs")
    assert re.search(r"Stopped\s+sleep 4", out), out
    ps = sh(con, "ps")
    assert re.search(r"^\s*\d+\s+\d+\s+T\s.*sleep 4$", ps, re.M), ps
    out = sh(con, "fg", timeout=30)
    assert "sleep 4" in out, out
    assert "sleep" not in sh(con, "ps")
    assert sh(con, "jobs") == ""


def test_rewritten_program_runs_anew(con):
    """The page cache of program text (kern/sys_mem.c) keys on the file's
    data version: a program file overwritten (cp, O_TRUNC) or patched in
    place (dd conv=notrunc, then truncate) runs its new code, never cached
    old pages."""
    sh(con, "cp /bin/true /data/prog && /data/prog && /data/prog")
    sh(con, "cp /bin/false /data/prog")
    sh(con, "/data/prog", status=1)
    sh(con, "/data/prog", status=1)
    size = sh(con, "busybox stat -c %s /bin/true").strip()
    sh(con, "busybox dd if=/bin/true of=/data/prog conv=notrunc 2>/dev/null && "
       f"busybox truncate -s {size} /data/prog && busybox cmp /bin/true /data/prog")
    sh(con, "/data/prog")
    sh(con, "rm /data/prog")


def test_fork_storm(con):
    """200 children at once, all reaped with the right status (half-dead
    ones included), then none left behind."""
    out = sh(con, "/bin/tests/forkstorm 200", timeout=120)
    assert out == "forkstorm: 200 children x 1 waves, all reaped\n"
    ps = sh(con, "ps").splitlines()
    assert len(ps) == 4, ps  # header, init, the shell, ps


def test_busybox_sh_forks(con):
    out = sh(con, "busybox sh -c 'i=0; while [ $i -lt 200 ]; do true & i=$((i+1)); done; "
                  "wait; echo $i; ls / | busybox wc -l'", timeout=120)
    lines = out.splitlines()
    assert lines[0] == "200" and int(lines[1]) >= 5, out


def test_faulting_program(con):
    out = sh(con, "/bin/tests/fault", status=128 + 11)
    assert "fault: write with a bad pointer gave EFAULT" in out, out
    assert re.search(r"^shoal: pid \d+ \(fault\) killed by SIGSEGV: #PF page fault at rip \S+ "
                     r"addr 0xdead0000$", out, re.M), out
    assert re.search(r"^Segmentation fault", out, re.M), out
    assert sh(con, "echo still here; echo $HOSTNAME") == "still here\nnode0\n"
    assert sh(con, "/bin/hello; echo $?").endswith("\n7\n")


# ---------------------------------------------------------------- programs
def test_busybox_applets(con):
    assert sh(con, "busybox sh -c 'echo $((6*7))'") == "42\n"
    names = words(sh(con, "busybox ls /"))
    for d in ("bin", "data", "dev", "etc", "proc"):
        assert d in names, names
    assert sh(con, "busybox printf 'b\\na\\n' | busybox sort") == "a\nb\n"
    assert words(sh(con, "echo one two three | busybox wc")) == ["1", "3", "14"]
    assert words(sh(con, "busybox wc -l /proc/mounts")) == ["4", "/proc/mounts"]
    assert sh(con, "busybox uname -n") == "node0\n"
    assert sh(con, "busybox false", status=1) == ""


def test_ps_shows_the_shell(con):
    shell_pid = sh(con, "echo $$").strip()
    out = sh(con, "ps")
    lines = out.splitlines()
    assert re.match(r"^\s*PID\s+PPID\s+STATE\s+NODE\s+TIME\s+CMD$", lines[0]), out
    rows = {}
    for line in lines[1:]:
        f = line.split(None, 5)
        assert len(f) == 6 and re.match(r"^\d+:\d\d$", f[4]), line
        rows[f[0]] = f
    assert rows["1"][5] == "/bin/init" and rows["1"][1] == "0", out
    me = rows[shell_pid]
    assert me[5] == "-sh" and me[1] == "1" and me[2] == "S" and me[3] == "0", out
    ps = [f for f in rows.values() if f[5] == "ps"]
    assert len(ps) == 1 and ps[0][1] == shell_pid and ps[0][2] == "R", out
    # /proc agrees with ps.
    status = sh(con, f"cat /proc/{shell_pid}/status")
    assert re.search(r"^PPid:\s+1$", status, re.M), status
    assert sh(con, f"cat /proc/{shell_pid}/cmdline | busybox tr '\\0' ' '") == "-sh "


def test_proc_control_files(con):
    """`echo N > /proc/PID/lock` from both shells (an O_TRUNC open and one
    write), children inheriting the lock, where and cantmove."""
    pid = sh(con, "echo $$").strip()
    sh(con, "echo 0 > /proc/$$/lock")
    assert sh(con, f"cat /proc/{pid}/lock") == "0\n"
    assert sh(con, "echo 1 > /proc/$$/lock; cat /proc/$$/lock") == "1\n"
    # cat is the shell's child: it inherited the lock.
    assert sh(con, "cat /proc/self/lock") == "1\n"
    assert sh(con, "echo 0 >> /proc/$$/lock; cat /proc/$$/lock /proc/self/lock") == "0\n0\n"
    # A bad value fails the write: echo says so, its status is 1, and the
    # lock is unchanged.
    out = sh(con, "echo 2 > /proc/$$/lock", status=1)
    assert out == "sh: echo: write error: Invalid argument\n", out
    out = sh(con, "echo 1 > /proc/$$/where", status=1)
    assert "Permission denied" in out, out
    assert sh(con, "cat /proc/$$/lock /proc/$$/where /proc/1/cantmove") == "0\n0\ninit\n"
    assert sh(con, "cat /proc/$$/cantmove") == ""
    # busybox sh (glibc): its own $$, its echo builtin.
    out = sh(con, "busybox sh -c 'echo 1 > /proc/$$/lock && cat /proc/$$/lock "
                  "/proc/self/lock && echo 0 > /proc/$$/lock && cat /proc/$$/lock'")
    assert out == "1\n1\n0\n", out
    out = sh(con, "busybox sh -c 'echo yes > /proc/$$/lock'", status=1)
    assert "Invalid argument" in out, out
    assert sh(con, "cat /proc/$$/lock") == "0\n"


# ---------------------------------------------------------------- memory
MEMINFO_RE = re.compile(r"^(\w+):\s+(\d+)(?: kB)?$", re.M)


def memory(con):
    """MemFree and the buffer cache's size, in KiB, read by one cat after
    a sync (earlier tests in the module write files on /data)."""
    out = sh(con, "sync; cat /proc/meminfo /proc/bcache")
    fields = dict((k, int(v)) for k, v in MEMINFO_RE.findall(out))
    bc = dict((k, int(v)) for k, v in re.findall(r"^(\w+) (\d+)$", out, re.M))
    return {"free": fields["MemFree"], "buffers": fields["Buffers"], "slab": fields["Slab"],
            "cached": bc["cached"], "dirty": bc["dirty"]}


# The workload: every kind of process life the shell can make, about 420
# processes in all. No line writes a file, so the buffer cache does not
# grow once the warm-up has read every program the batch runs.
BATCH = [
    ("/bin/tests/forkstorm 200 2", 0),
    ("ls /bin | grep s | wc -l; cat /proc/meminfo | grep Mem | busybox wc -l", 0),
    ("busybox dd if=/dev/zero of=/dev/null bs=4M count=4 2>/dev/null; /bin/hello", 7),
    ("/bin/tests/fault", 139),
    ("busybox sh -c 'echo $((6*7))'; echo a b | busybox wc -w; busybox ls / >/dev/null", 0),
    ("sleep 0.1 & sleep 0.1 & wait; (exit 5)", 5),
    ("echo $(echo nested $(echo deeper)) | cat | cat | cat", 0),
]

# How far MemFree may end below the baseline, in KiB. The two measured
# batches start about 850 processes: a leak of one 4 KiB page for each
# would lose over 3 MiB, a kernel stack (16 KiB) for one process in fifty
# about 270 KiB, so 128 KiB catches either. It is well above the noise:
# each line of the batch that does not meet the kernel bug below, run four
# times after a warm-up, lost 0-4 KiB per run (a page of the shell's heap
# now and then: its history keeps the lines typed). This test found the
# thread-stack leak of kern/thread.c's old single zombie slot.
LEAK_TOLERANCE_KB = 128


def run_batch(con):
    """The batch; a wrong status fails the test outright."""
    for cmd, status in BATCH:
        try:
            sh(con, cmd, status=status, timeout=120)
        except AssertionError as e:
            pytest.fail(str(e), pytrace=False)


def test_no_memory_leak(con):
    run_batch(con)  # warm-up: the programs' blocks in the cache, the shell's heap grown
    run_batch(con)
    before = memory(con)
    for _ in range(2):
        run_batch(con)
    after = memory(con)
    # The batch writes no file: the cache must not have changed, so MemFree
    # compares like with like (a cache buffer costs more than its 1 KiB of
    # data in the kernel heap, so MemFree + Buffers would not be exact).
    if after["cached"] != before["cached"] or after["dirty"]:
        pytest.fail(f"the buffer cache changed during the batches: {before} -> {after}",
                    pytrace=False)
    lost = before["free"] - after["free"]
    assert lost <= LEAK_TOLERANCE_KB, \
        f"MemFree fell by {lost} KiB over two batches (tolerance {LEAK_TOLERANCE_KB}): " \
        f"{before} -> {after}"


# ---------------------------------------------------------------- persistence
def test_redirections_survive_a_reboot(node):
    """>, >>, <, 2>&1 into files on /data; sync; one more line, then
    `reboot` (which syncs); the node comes back with the files intact."""
    want = {
        "/data/out": "one\ntwo\nthree\n",
        "/data/count": "3\n",
        "/data/grep": "two\n",
        "/data/both": "ls: /nonexistent: No such file or directory\n/bin/sh\n",
        "/data/err": "cat: /data/missing: No such file or directory\n",
    }
    with node.console(0) as con:
        sh(con, "echo one > /data/out; echo two >> /data/out")
        sh(con, "echo three >> /data/out; wc -l < /data/out > /data/count")
        sh(con, "grep two < /data/out > /data/grep")
        sh(con, "ls /nonexistent /bin/sh > /data/both 2>&1", status=1)
        sh(con, "cat /data/missing 2>&1 >/dev/null | cat > /data/err")
        sh(con, "echo gone > /data/out2; echo replaced > /data/out2")
        for f, text in want.items():
            assert sh(con, f"cat {f}") == text, f
        assert sh(con, "cat /data/out2") == "replaced\n"
        sh(con, "sync")
        sh(con, "echo after sync >> /data/out2")  # left to reboot's own sync
        node.expect_reboot(0)
        con.expect_reboot()
        con.send("\x15reboot\r")
        con.wait_for(r"shoal: node 0 rebooting", timeout=30)
    # Direct boot (qboot + PVH) does not boot again after the reset: a
    # power cycle through tools/cluster stands in for the firmware.
    node.kill(0)
    node.start(0)
    with node.console(0) as con:
        for f, text in want.items():
            assert sh(con, f"cat {f}") == text, f
        assert sh(con, "cat /data/out2") == "replaced\nafter sync\n"
        assert sh(con, "echo $HOSTNAME") == "node0\n"
