"""test_syscalls.py — the in-guest system-call suite (user/tests/t_*.c, see
docs/testing-user.md): every /bin/tests/t_* program runs on one directly
booted node, and each must print a complete TAP plan (points numbered 1..N
in order), no `not ok` line, and exit with status 0.

One node serves every program so the boot is paid once; all programs run
and every failing one is reported (its `not ok` lines, or why its plan is
incomplete). A program that hangs ends the run: the console is then stuck
and the remaining programs are reported as not run. The output of each
program is kept in the test's work directory (copied to build/test-logs
when the test fails); the node's /data disk is made fresh, so scratch
directories of an earlier, killed run do not linger.

The console answers through the shell (`PATH`; init=/bin/init, the
default) or the kernel monitor (`exec PATH`; init=monitor): the first
program is typed as a plain path, and if the answer is "unknown command"
every program is run with `exec ` in front.
"""

import re
from pathlib import Path

from shoal.console import ConsoleTimeout

REPO = Path(__file__).resolve().parents[2]
# t_limits last: it fills the node's process table and memory, and if that
# goes wrong the other programs have already run.
PROGRAMS = sorted((p.stem for p in (REPO / "user" / "tests").glob("t_*.c")),
                  key=lambda name: (name == "t_limits", name))

# Seconds each program may take on a slow emulated CPU (they need a few).
TIMEOUT = 60
TIMEOUTS = {"t_limits": 120}

# The kernel's one-line notes (an unimplemented call, a process killed by a
# signal) may land in the middle of a program's output line: cut them out
# wherever they are, so that the line they split joins up again.
KERNEL_NOTE_RE = re.compile(r"shoal: pid \d+ \([^)\n]*\)(?:: system call \d+ not implemented"
                            r"| killed by [^\n]*)\n")
POINT_RE = re.compile(r"^(not )?ok (\d+)(.*)$", re.M)
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*$", re.M)


def check_tap(out, status):
    """What is wrong with one program's TAP output: a list of lines."""
    problems = []
    points = [(not m.group(1), int(m.group(2)), m.group(0).rstrip())
              for m in POINT_RE.finditer(out)]
    plans = [int(n) for n in PLAN_RE.findall(out)]
    problems += [text for good, _, text in points if not good]
    if len(plans) != 1:
        problems.append(f"{len(plans)} TAP plan lines (want exactly one 1..N): "
                        "the program stopped early or printed twice")
    else:
        n = plans[0]
        numbers = [num for _, num, _ in points]
        if numbers != list(range(1, n + 1)):
            missing = sorted(set(range(1, n + 1)) - set(numbers))
            extra = [x for x in numbers if x > n]
            problems.append(f"plan 1..{n} but {len(numbers)} points" +
                            (f"; missing {missing[:10]}" if missing else "") +
                            (f"; beyond the plan {extra[:10]}" if extra else "") +
                            ("" if missing or extra else "; out of order or repeated"))
    if status != 0 and not problems:
        problems.append(f"exit status {status} although every point passed")
    elif status == 0 and problems:
        problems.append("exit status 0 despite the failures above")
    return problems


def test_syscalls(make_cluster, workdir):
    c = make_cluster("syscalls", nodes=1, boot="direct", fresh=True)
    assert PROGRAMS, "no user/tests/t_*.c programs"
    failures, summary = [], []
    prefix = None  # "" for a shell, "exec " for the kernel monitor
    with c.console(0) as con:
        for i, name in enumerate(PROGRAMS):
            path = f"/bin/tests/{name}"
            timeout = TIMEOUTS.get(name, TIMEOUT)
            try:
                if prefix is None:
                    out, status = con.run(path, timeout=timeout)
                    prefix = ""
                    if re.search(r"unknown command", out):
                        prefix = "exec "
                        out, status = con.run(prefix + path, timeout=timeout)
                else:
                    out, status = con.run(prefix + path, timeout=timeout)
            except ConsoleTimeout as e:
                failures.append(f"{name}: did not finish within {timeout} s\n{e}")
                rest = PROGRAMS[i + 1:]
                if rest:
                    failures.append("not run (the console is stuck): " + ", ".join(rest))
                break
            (workdir / f"{name}.tap").write_text(out)
            out = KERNEL_NOTE_RE.sub("", out)
            problems = check_tap(out, status)
            n_ok = len(re.findall(r"^ok \d+", out, re.M))
            n_skip = len(re.findall(r"^ok \d+.*# SKIP", out, re.M))
            summary.append(f"{name}: {n_ok} ok ({n_skip} skipped), status {status}")
            if problems:
                failures.append(f"{name} (status {status}):\n  " + "\n  ".join(problems))
    print("\n".join(summary))
    assert not failures, "system-call tests failed:\n" + "\n".join(failures)
