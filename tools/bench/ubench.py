#!/usr/bin/python3
"""tools/bench/ubench.py — process micro-benchmarks, Shoal vs Linux (make bench-user).

Runs the one static program user/bench/ubench.c (null system call, fork,
fork+execve, pipe latency and bandwidth, context switch; see its header)
in three places and puts the figures side by side:

  Shoal        one node booted directly under TCG (the launcher's usual QEMU
               command line), the program typed on its console, one test
               per invocation so a test that kills the program or the node
               costs only that test (the node is booted again after a
               panic or a timeout)
  Linux guest  Debian's kernel on the same QEMU machine with a busybox
               initramfs (tools/bench/linux_guest.py)
  host         with --host: natively on this machine, pinned to CPU 0
               (the guests have one CPU), as a sanity check

Both guests run the same file: the Shoal node boots a root image made
from the build's staging tree (BUILD/root) with this binary added as
/bin/bench/ubench (build/bench/ubench-root.img), so a stale build/root.img
does not matter. Prints a table with the ratio Shoal/Linux (of times: > 1
means Shoal is slower), writes build/bench/ubench.csv and
build/bench/ubench.png. A benchmark, not a test: a test that Shoal does
not support shows as "unsupported" and the run still succeeds; the exit
status is 1 only when a column could not be measured at all or a test
failed (timeout, panic, bad child status).

  tools/bench/ubench.py [--quick] [--tests null,fork,...] [--runs N] [--host]
                        [--no-shoal] [--no-linux] [--ubench PATH] [--build build]
                        [--kernel VMLINUZ] [--linux-append OPTS] [--mem 256]
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shoal import ShoalError  # noqa: E402
from shoal.cluster import Cluster  # noqa: E402
from shoal.config import ClusterConfig  # noqa: E402
from shoal.console import ConsoleFailure, ConsoleTimeout, tail  # noqa: E402
import linux_guest  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")
GUEST_PATH = "/bin/bench/ubench"
LINE_RE = re.compile(r"^ubench: (\w+=\S+(?: \w+=\S+)*)\s*$", re.M)

# (test, unit shown, ns per unit or None for MiB/s, label), in table order
TESTS = (
    ("null", "ns", 1, "null system call (getppid)"),
    ("fork", "µs", 1e3, "fork + exit + wait"),
    ("exec", "µs", 1e3, "fork + execve + wait"),
    ("pipe_lat", "µs", 1e3, "pipe round trip, 1 byte"),
    ("pipe_bw", "MiB/s", None, "pipe bandwidth, 64 KiB writes"),
    ("ctxsw", "µs", 1e3, "context switch (pipe work subtracted)"),
)
TARGETS = (("shoal", "Shoal"), ("linux", "Linux guest"), ("host", "host (native)"))


def parse(text):
    """{test: {key: value}} from ubench lines, plus the start line as "_start"."""
    res = {}
    for m in LINE_RE.finditer(text.replace("\r", "")):
        kv = dict(w.partition("=")[::2] for w in m.group(1).split())
        if "name" in kv:
            res[kv["name"]] = kv
        elif "os" in kv or "status" in kv:
            res["_start"] = kv
    return res


def complete(res, tests):
    """When ubench stopped before any test (it printed `start
    status=unsupported`, e.g. without CLOCK_MONOTONIC), every test it was
    asked for is unsupported for the same reason."""
    st = res.get("_start") or {}
    if st.get("status") == "unsupported":
        for t in tests:
            res.setdefault(t, {"name": t, "status": "unsupported", "reason": st.get("reason")})
    return res


def ubench_opts(args):
    a = ["--quick"] if args.quick else []
    return a + (["--runs", str(args.runs)] if args.runs else [])


def ubench_args(args, tests):
    return ubench_opts(args) + [",".join(tests)]


# ---------------------------------------------------------------- Linux
def run_linux(args, tests, progress):
    kernel = args.kernel or linux_guest.find_kernel()
    progress(f"Linux guest: {kernel}, tcg, {args.mem} MB, busybox initramfs ...")
    initrd = linux_guest.build_initramfs(args.ubench)
    text = linux_guest.run_guest(kernel, initrd, ubench_args(args, tests), mem=args.mem,
                                 timeout=args.timeout, progress=progress,
                                 append=args.linux_append)
    for line in text.replace("\r", "").split("\n"):
        if line.startswith("linux-guest: Linux"):
            progress("  " + line)
    return complete(parse(text), tests)


# ---------------------------------------------------------------- host
def run_host(args, tests, progress):
    argv = [args.ubench] + ubench_args(args, tests)
    if shutil.which("taskset"):
        argv = ["taskset", "-c", "0"] + argv
    progress(f"host: {' '.join(argv)}")
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=args.timeout)
    return complete(parse(r.stdout), tests)


# ---------------------------------------------------------------- Shoal
def make_root(build, program):
    """build/bench/ubench-root.img: BUILD/root plus program as /bin/bench/ubench,
    made as the Makefile makes BUILD/root.img."""
    staging = os.path.join(build, "root")
    if not os.path.isdir(staging):
        raise ShoalError(f"{staging} not found (run make first)")
    stage = os.path.join(OUT, "ubench-rootfs")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(staging, stage, symlinks=True)
    os.makedirs(os.path.join(stage, "bin", "bench"), exist_ok=True)
    shutil.copy(program, os.path.join(stage, GUEST_PATH.lstrip("/")))
    path = os.path.join(OUT, "ubench-root.img")
    if os.path.exists(path):
        os.unlink(path)
    used = sum(os.lstat(os.path.join(d, n)).st_size for d, _, names in os.walk(stage)
               for n in names)
    with open(path, "wb") as f:
        f.truncate(max(24, 2 * (used >> 20) + 8) << 20)  # the Makefile's ROOT_MB is 24
    for argv in (["mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-L", "shoal-root",
                  "-d", stage, path],
                 ["e2fsck", "-fn", path]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise ShoalError(f"{' '.join(argv)} failed (status {r.returncode}):\n{r.stdout}")
    return path


class ShoalNode:
    """One directly booted node, booted again after a panic or a timeout."""

    def __init__(self, args, root, progress):
        self.cl = Cluster(os.path.join(OUT, "c-ubench"))
        self.cfg = ClusterConfig(nodes=1, kernel=os.path.join(args.build, "shoal.elf"),
                                 root=root, boot="direct", accel="tcg", mem=args.mem,
                                 disk_mb=0)
        self.progress = progress
        self.prefix = None

    def up(self):
        self.progress(f"Shoal: booting one node (direct, tcg, {self.cfg.mem} MB) ...")
        self.cl.up(self.cfg)
        # The kernel monitor runs programs with `exec PATH ARGS`; a POSIX
        # shell would replace itself on `exec`, so it gets the bare path.
        out, _ = self.cl.run(0, "help")
        self.prefix = "exec " if re.search(r"^\s*exec\b.*run a program", out, re.M) else ""

    def down(self):
        self.cl.down()
        self.prefix = None

    def run(self, cmd, timeout):
        if self.prefix is None:
            self.up()
        return self.cl.run(0, self.prefix + cmd, timeout=timeout)


def run_shoal(args, tests, progress):
    root = make_root(args.build, args.ubench)
    node = ShoalNode(args, root, progress)
    res = {}
    try:
        for t in tests:
            cmd = " ".join([GUEST_PATH] + ubench_opts(args) + [t])
            progress(f"  {cmd}")
            try:
                out, status = node.run(cmd, args.timeout)
            except (ConsoleFailure, ConsoleTimeout) as e:
                first = str(e).split("\n")[0]
                log = os.path.join(OUT, f"ubench-shoal-{t}.log")
                with open(log, "w") as f:
                    f.write(str(e) + "\n")
                res[t] = {"name": t, "status": "failed", "reason": first}
                progress(f"  {t}: {first}\n  (the console's last lines: "
                         f"{os.path.relpath(log, ROOT)}); the node is booted again")
                node.down()
                continue
            got = complete(parse(out), [t])
            res.setdefault("_start", got.get("_start"))
            if t in got:
                res[t] = got[t]
            else:
                # The program did not get to print its line: it could not be
                # started, or it was killed (the kernel says why).
                lines = [ln.strip() for ln in out.split("\n") if ln.strip()]
                kern = [ln for ln in lines if ln.startswith(("shoal: pid", "exec:"))]
                why = "; ".join(kern[-3:]) or (lines[-1] if lines else "no output")
                res[t] = {"name": t, "status": "failed",
                          "reason": f"status {status}: {why}"}
    finally:
        node.down()
    if res.get("_start") is None:
        res.pop("_start", None)
    return res


# ---------------------------------------------------------------- output
def value(r, test):
    """The figure a table cell shows (ns per op scaled, or MiB/s), or None."""
    if not r or r.get("status") != "ok":
        return None
    unit = next(u for n, _, u, _ in TESTS if n == test)
    try:
        return float(r["MiB_per_s"]) if unit is None else float(r["ns_per_op"]) / unit
    except (KeyError, ValueError):
        return None


def ratio(results, test):
    """Shoal's time over Linux's for one test, or None."""
    try:
        s, lx = results["shoal"][test], results["linux"][test]
        if s.get("status") == "ok" and lx.get("status") == "ok":
            return float(s["ns_per_op"]) / float(lx["ns_per_op"])
    except (KeyError, ValueError, ZeroDivisionError):
        pass
    return None


def cell(r, test):
    if not r:
        return "not run"
    v = value(r, test)
    if v is None:
        why = str(r.get("reason", ""))
        return f"{r.get('status', '?')} ({why if len(why) <= 60 else why[:57] + '...'})"
    return f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def print_table(results, targets, tests):
    labels = dict(TARGETS)
    cols = [t for t in targets if t != "host"]
    has_ratio = "shoal" in cols and "linux" in cols
    head = [labels[t] for t in cols] + (["Shoal/Linux"] if has_ratio else [])
    if "host" in targets:
        head.append(labels["host"])
    print("\n| test | unit | " + " | ".join(head) + " |")
    print("|---|---|" + "---|" * len(head))
    for name, unit, _, label in TESTS:
        if name not in tests:
            continue
        row = [cell(results[t].get(name), name) for t in cols]
        if has_ratio:
            q = ratio(results, name)
            row.append(f"{q:.2f}" if q is not None else "-")
        if "host" in targets:
            row.append(cell(results["host"].get(name), name))
        print(f"| {label} | {unit} | " + " | ".join(row) + " |")
    for t in targets:
        st = results[t].get("_start")
        if st:
            print(f"{labels[t]}: {st.get('os')} {st.get('release')}, {st.get('runs')} runs of "
                  f"{st.get('target_ms')} ms per test, clock step {st.get('clock_res_ns')} ns")


def write_csv(results, targets, tests, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["test", "target", "status", "unit", "value", "ns_per_op", "min_ns",
                    "max_ns", "iters", "runs", "reason"])
        for name, unit, _, _ in TESTS:
            if name not in tests:
                continue
            for t in targets:
                r = results[t].get(name) or {"status": "not_run"}
                v = value(r, name)
                w.writerow([name, t, r.get("status", ""), unit, "" if v is None else f"{v:.3f}",
                            r.get("ns_per_op", ""), r.get("min_ns", ""), r.get("max_ns", ""),
                            r.get("iters", ""), r.get("runs", ""), r.get("reason", "")])
            q = ratio(results, name)
            if "shoal" in targets and "linux" in targets:
                w.writerow([name, "shoal/linux", "ok" if q is not None else "", "time ratio",
                            "" if q is None else f"{q:.3f}", "", "", "", "", "", ""])
    print(f"csv: {os.path.relpath(path, ROOT)}")


def plot(results, targets, tests, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    labels = dict(TARGETS)
    shown = [t for t in TESTS if t[0] in tests]
    ncol = min(3, len(shown))
    nrow = (len(shown) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.4 * nrow), squeeze=False)
    colors = {"shoal": "tab:blue", "linux": "tab:orange", "host": "tab:gray"}
    for ax, (name, unit, _, label) in zip(axes.flat, shown):
        for i, t in enumerate(targets):
            v = value(results[t].get(name), name)
            if v is None:
                ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize="small")
                ax.bar(i, 0, color=colors[t])
            else:
                bar = ax.bar(i, v, color=colors[t])
                ax.bar_label(bar, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.3g}"],
                             fontsize="x-small")
        ax.set_xticks(range(len(targets)))
        ax.set_xticklabels([labels[t].split(" (")[0] for t in targets], fontsize="small")
        q = ratio(results, name)
        ax.set_title(label + (f"\nShoal/Linux {q:.2f}" if q is not None else ""),
                     fontsize="small")
        ax.set_ylabel(unit + (" (higher is better)" if unit == "MiB/s" else
                              " per op (lower is better)"), fontsize="small")
        ax.margins(y=0.15)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.suptitle("Process micro-benchmarks: guests on one CPU under TCG"
                 + (", host natively on CPU 0" if "host" in targets else "") + " (this host)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="ubench --quick: 3 short runs")
    ap.add_argument("--runs", type=int, help="ubench --runs N (default: ubench's, 5)")
    ap.add_argument("--tests", default=",".join(t[0] for t in TESTS),
                    help="comma-separated tests (default: all)")
    ap.add_argument("--host", action="store_true",
                    help="also run natively on this host (pinned to CPU 0)")
    ap.add_argument("--no-shoal", action="store_true")
    ap.add_argument("--no-linux", action="store_true")
    ap.add_argument("--ubench", default=None,
                    help="the ubench binary (default BUILD/user/bin/bench/ubench)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the make output directory with shoal.elf and root/ (default build)")
    ap.add_argument("--kernel", help="the Linux guest's kernel (default newest /boot/vmlinuz-*)")
    ap.add_argument("--linux-append", default="",
                    help="more Linux kernel options, e.g. mitigations=off")
    ap.add_argument("--mem", type=int, default=256, help="guest memory in MB (default 256)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds one ubench invocation may take (default 600)")
    args = ap.parse_args()
    args.ubench = args.ubench or os.path.join(args.build, "user", "bin", "bench", "ubench")
    tests = args.tests.split(",")
    known = [t[0] for t in TESTS]
    bad = [t for t in tests if t not in known]
    if bad:
        sys.exit(f"ubench.py: unknown test(s) {', '.join(bad)}; known: {', '.join(known)}")
    if not os.path.isfile(args.ubench):
        sys.exit(f"ubench.py: {args.ubench} not found (run make first, or --ubench PATH)")
    os.makedirs(OUT, exist_ok=True)

    def progress(msg):
        print(msg, flush=True)

    targets = [t for t, on in (("shoal", not args.no_shoal), ("linux", not args.no_linux),
                               ("host", args.host)) if on]
    runners = {"shoal": run_shoal, "linux": run_linux, "host": run_host}
    results, problems = {}, []
    for t in targets:
        try:
            results[t] = runners[t](args, tests, progress)
        except (ShoalError, subprocess.SubprocessError, OSError) as e:
            problems.append(f"{dict(TARGETS)[t]}: {e}")
            results[t] = {}
        for name in tests:
            r = results[t].get(name)
            if r and r.get("status") == "failed":
                problems.append(f"{dict(TARGETS)[t]}: {name} failed: {r.get('reason')}")
            elif r is None and results[t]:
                problems.append(f"{dict(TARGETS)[t]}: {name}: no result line")

    print_table(results, targets, tests)
    write_csv(results, targets, tests, os.path.join(OUT, "ubench.csv"))
    plot(results, targets, tests, os.path.join(OUT, "ubench.png"))
    unsupported = [f"{dict(TARGETS)[t]}: {n} ({r.get('reason')})" for t in targets
                   for n, r in results[t].items() if n in tests and r.get("status") ==
                   "unsupported"]
    for msg in unsupported:
        print(f"unsupported: {msg}")
    for msg in problems:
        print(f"ubench.py: {tail(msg, 15)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
