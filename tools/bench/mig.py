#!/usr/bin/python3
"""tools/bench/mig.py — process migration against the Linker it runs on (make bench-mig).

Issue 7, "Measure": freeze time and total migration time for processes
with 1, 16 and 64 MB of dirty memory, as MiB/s against the Linker's bulk
throughput (target >= 90%); pages fetched on demand after a move for a
typical program; forwarded system-call latency against a local call and
against one Linker RPC (target <= 1.5 x RPC); the slowdown of a
file-writing program running remotely. All in one boot.

One 2-node Shoal cluster booted directly (as `tools/cluster up -n 2 --boot
direct`, like link.py, but with a --disk-mb disk per node for /data) from
BUILD's shoal.elf and root.img. Every command is typed on node0's console;
node0 is every process's home, node1 the target. --runs rounds of:

  send     `linkperf -c N -s 1048576 send 1`: N = --link-mib one-way 1 MiB
           messages on the BULK channel (the size of a page train:
           migration sends 256 pages per MIG_PAGES message), 32 in flight;
           MiB/s until the last is acknowledged
  rpc      `linkperf -c --rr -s 64 rpc 1`: 64 B calls answered with 8 B,
           one at a time; the median round trip
  move     `migbench move MB 1` for each --sizes MB: the process writes
           every page of MB MiB, moves itself to node1 and back (each move
           timed around shoal_migrate in the process, and by the source's
           kernel: last_total_us, the freeze, out of node0's
           /proc/cluster/migrations by migbench, home of node1's by this
           script). MiB/s = every dirty page sent (the buffer plus the
           program's own, from out_bytes/in_bytes) over the process's time
  calls    `migbench calls 1 --calls`: getppid() and a 1-byte write() to
           /dev/null, locally and forwarded from node1 (median of calls
           timed one by one; the local figure is the mean of a loop, as a
           call is as short as the clock read), with home's calls served
           and copy-in/out round trips (ucopies) per call
  files    `migbench files 1 --file-mib`: --file-mib MiB to /data in 4 KiB
           writes plus fsync, locally and from node1; the slowdown
  fetched  node1's pages_fetched (clean file pages fetched from home on
           demand) over two programs: `migtest -n 1 files /data` (moves
           itself first, then writes, reads, renames and removes a file),
           and `memhash -m 8 -r 6 -d 300` moved by `migrate PID 1` after
           its first round (its text and data were in use at home)

Figures are medians over the rounds. Ratios from this one run:
  move MiB/s / send 1 MiB MiB/s       target >= 0.9, each size and direction
  forwarded call median / rpc 64 B    target <= 1.5, getppid and write
  forwarded / local, files remote / local

Prints the tables, writes build/bench/mig.csv and build/bench/mig.png. A
benchmark, not a test: exit 1 only when something could not be measured,
never because a target was missed.

  tools/bench/mig.py [--quick] [--runs 5] [--sizes 1,16,64] [--calls 500]
                     [--file-mib 8] [--link-mib 32] [--rr 1000]
                     [--build build] [--mem 256] [--disk-mb 64]
                     [--accel tcg|kvm] [--shoal-append OPTS]
"""
import argparse
import contextlib
import csv
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import link as linkbench  # noqa: E402  (also net.py and tools/lib)
import net as netbench  # noqa: E402

from shoal import ShoalError  # noqa: E402
from shoal.cluster import Cluster  # noqa: E402
from shoal.config import ClusterConfig  # noqa: E402
from shoal.console import ConsoleTimeout, tail  # noqa: E402

ROOT, OUT = netbench.ROOT, netbench.OUT
BenchError = netbench.BenchError
MIGBENCH = "/bin/bench/migbench"
TARGET = 1
BULK_SIZE = 1 << 20
BULK_TARGET = 0.9
RPC_TARGET = 1.5
CALLS = ("getppid", "write1")
CALL_NAMES = {"getppid": "getppid()", "write1": "1-byte write() to /dev/null"}

KV_RE = re.compile(r"^migbench: (\w+)((?: \w+=\S+)+)\r?$", re.M)
COUNTER_RE = re.compile(r"(?m)^(\w+) (\d+)\r?$")


def kv(words):
    """' a=1 b=x' -> {'a': 1.0, 'b': 'x'}."""
    d = {}
    for w in words.split():
        k, v = w.split("=", 1)
        try:
            d[k] = float(v)
        except ValueError:
            d[k] = v
    return d


class Rounds(linkbench.Rounds):
    """Per key (a tuple): the rounds' values, or why one failed."""

    def add_value(self, key, value, **more):
        self.add(key, dict(value=value, **more))


def migbench(con, args, timeout):
    """Run migbench with args: its (kind, {key: value}) lines; BenchError
    unless it ends with 'done' and status 0."""
    cmd = f"{MIGBENCH} {args}"
    out, status = con.run(cmd, timeout=timeout)
    lines = [(m.group(1), kv(m.group(2))) for m in KV_RE.finditer(out)]
    if status != 0 or "migbench: done" not in out:
        why = [ln for ln in out.splitlines() if ln.startswith("migbench:")]
        raise BenchError(f"{cmd}: status {status}: " + ("; ".join(why[-3:]) or tail(out, 5)))
    return lines


def counters(con):
    out, status = con.run("cat /proc/cluster/migrations")
    if status != 0:
        raise BenchError(f"cat /proc/cluster/migrations: status {status}: {tail(out, 3)}")
    return {k: int(v) for k, v in COUNTER_RE.findall(out)}


def attempt(rd, key, progress, fn):
    """fn() (which adds to rd itself); a failure is noted, not raised."""
    try:
        fn()
    except (BenchError, ConsoleTimeout) as e:
        rd.fail(key, str(e).split("\n")[0])
        progress(f"    {key} failed: {e}")


# ------------------------------------------------------------- measuring
def m_link(c0, args, rd, progress):
    r = linkbench.linkperf(c0, "send", BULK_SIZE, args.link_mib, args)
    if r["peer"] != r["msgs"]:
        raise BenchError(f"send: {r['msgs']} sent, {r['peer']} arrived")
    rd.add_value(("send",), r["mib_s"], retrans=r["retrans"])
    progress(f"    send 1 MiB: {r['msgs']} in {r['ms']:.0f} ms, {r['mib_s']:.2f} MiB/s, "
             f"retrans {r['retrans']}")
    r = linkbench.linkperf(c0, "rpc", 64, args.rr, args)
    rd.add_value(("rpc",), r["median_us"])
    progress(f"    rpc 64 B: {r['msgs']} calls, median {r['median_us']:.0f} µs "
             f"(min {r['min_us']:.0f}, max {r['max_us']:.0f})")


def m_move(c0, c1, mb, args, rd, progress):
    lines = migbench(c0, f"move {mb} {TARGET}", args.timeout)
    back = counters(c1)  # node1 was the source of the move home
    moves = {d["dir"]: d for kind, d in lines if kind == "move"}
    if set(moves) != {"out", "home"}:
        raise BenchError(f"move {mb}: want an out and a home line, got {sorted(moves)}")
    moves["home"]["kernel_us"] = back["last_total_us"]
    for d, m in moves.items():
        rd.add_value(("move", mb, d, "ms"), m["ms"])
        rd.add_value(("move", mb, d, "freeze_ms"), m["kernel_us"] / 1e3)
        rd.add_value(("move", mb, d, "mib_s"), m["mib_s"])
        rd.add_value(("move", mb, d, "mib"), m["bytes"] / 2**20)
        progress(f"    move {mb:>2} MiB {d:>4}: {m['ms']:.1f} ms (kernel "
                 f"{m['kernel_us'] / 1e3:.1f} ms), {m['bytes'] / 2**20:.2f} MiB sent, "
                 f"{m['mib_s']:.2f} MiB/s")


def m_calls(c0, args, rd, progress):
    lines = migbench(c0, f"calls {TARGET} {args.calls}", args.timeout)
    for kind, d in lines:
        if kind != "calls":
            continue
        key = ("calls", d["call"], d["where"])
        # A local call is shorter than reading the clock around it.
        rd.add_value(key, d["mean_us"] if d["where"] == "local" else d["median_us"],
                     mean=d["mean_us"], median=d["median_us"], p10=d["p10_us"],
                     p90=d["p90_us"], served=d["served_per_call"],
                     ucopies=d["ucopies_per_call"])
        progress(f"    {d['call']:>7} {d['where']:>6}: mean {d['mean_us']:.2f} µs, median "
                 f"{d['median_us']:.2f} (p10 {d['p10_us']:.2f}, p90 {d['p90_us']:.2f}); "
                 f"served {d['served_per_call']:.2f}, ucopies {d['ucopies_per_call']:.2f}"
                 " per call")


def m_files(c0, args, rd, progress):
    lines = migbench(c0, f"files {TARGET} {args.file_mib}", args.timeout)
    for kind, d in lines:
        if kind == "files" and "where" in d:
            rd.add_value(("files", d["where"]), d["ms"], mib_s=d["mib_s"])
            progress(f"    files {d['where']:>6}: {args.file_mib} MiB in {d['ms']:.0f} ms, "
                     f"{d['mib_s']:.2f} MiB/s")
        elif kind == "files":
            rd.add_value(("files", "slowdown"), d["slowdown"])


def wait_output(con, path, regex, timeout):
    """Until path's contents match regex (a poll of cat, on output)."""
    deadline = time.monotonic() + timeout
    while True:
        out, _ = con.run(f"cat {path}")
        if re.search(regex, out):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{path}: no /{regex}/ within {timeout:g} s: {tail(out, 3)}")


def m_fetched(c0, c1, args, rd, progress):
    before = counters(c1)["pages_fetched"]
    out, status = c0.run(f"/bin/tests/migtest -n {TARGET} files /data", timeout=args.timeout)
    if status != 0 or "files ok" not in out:
        raise BenchError(f"migtest -n {TARGET} files /data: status {status}: {tail(out, 3)}")
    after = counters(c1)["pages_fetched"]
    rd.add_value(("fetched", "migtest"), after - before)

    out, status = c0.run("/bin/tests/memhash -m 8 -r 6 -d 300 >/data/mh.out & echo pid=$!")
    m = re.search(r"pid=(\d+)", out)
    if status != 0 or not m:
        raise BenchError(f"memhash in the background: {tail(out, 3)}")
    pid = m.group(1)
    wait_output(c0, "/data/mh.out", r"round 1 hash", 60)
    before = counters(c1)["pages_fetched"]
    out, status = c0.run(f"migrate {pid} {TARGET}", timeout=args.timeout)
    moved = status == 0
    out2, status2 = c0.run(f"wait {pid}; echo st=$?; tail -1 /data/mh.out; rm /data/mh.out",
                           timeout=args.timeout)
    if not moved:
        raise BenchError(f"migrate {pid} {TARGET}: status {status}: {tail(out, 3)}")
    if "st=0" not in out2 or "memhash done" not in out2:
        raise BenchError(f"memhash after its move: {tail(out2, 3)}")
    after = counters(c1)["pages_fetched"]
    rd.add_value(("fetched", "memhash"), after - before)
    progress(f"    pages fetched on node1: migtest files {rd.runs[('fetched', 'migtest')][-1]['value']}, "
             f"memhash {after - before}")


def one_round(c0, c1, args, rd, progress):
    attempt(rd, ("link",), progress, lambda: m_link(c0, args, rd, progress))
    for mb in args.sizes:
        attempt(rd, ("move", mb), progress, lambda: m_move(c0, c1, mb, args, rd, progress))
    attempt(rd, ("calls",), progress, lambda: m_calls(c0, args, rd, progress))
    attempt(rd, ("files",), progress, lambda: m_files(c0, args, rd, progress))
    attempt(rd, ("fetched",), progress, lambda: m_fetched(c0, c1, args, rd, progress))


@contextlib.contextmanager
def shoal_pair(args, progress):
    """net.shoal_pair with a disk per node (/data for the file runs)."""
    cl = Cluster(os.path.join(OUT, "c-mig"))
    cfg = ClusterConfig(nodes=2, kernel=os.path.join(args.build, "shoal.elf"),
                        root=os.path.join(args.build, "root.img"), boot="direct",
                        accel=args.accel, mem=args.mem, disk_mb=args.disk_mb, fresh=True,
                        append=args.shoal_append)
    progress(f"Shoal: booting 2 nodes (direct, {args.accel}, {args.mem} MB, "
             f"{args.disk_mb} MB disks" + (f", {args.shoal_append}" if args.shoal_append
                                           else "") + ") ...")
    try:
        cl.up(cfg)
        with cl.console(0, holder="bench/c-mig") as c0, \
                cl.console(1, holder="bench/c-mig") as c1:
            yield c0, c1
    finally:
        cl.down()


def run_cluster(args, progress):
    rd = Rounds()
    snaps = {}
    with shoal_pair(args, progress) as (c0, c1):
        linkbench.wait_linked(c0, c1)
        snaps["before"] = {n: counters(c) for n, c in ((0, c0), (1, c1))}
        for run in range(args.runs):
            progress(f"  round {run + 1} of {args.runs}:")
            t0 = time.monotonic()
            one_round(c0, c1, args, rd, progress)
            progress(f"  round {run + 1}: {time.monotonic() - t0:.1f} s")
        snaps["after"] = {n: counters(c) for n, c in ((0, c0), (1, c1))}
    return rd, snaps


# ------------------------------------------------------------- results
def div(a, b):
    return a / b if a is not None and b else None


def ratios(rd, args):
    """name -> (value or None, description)."""
    q = {}
    send, rpc = rd.median(("send",)), rd.median(("rpc",))
    for mb in args.sizes:
        for d in ("out", "home"):
            q[f"move_{mb}_{d}/send"] = (div(rd.median(("move", mb, d, "mib_s")), send),
                                        f"move {mb} MiB {d}, MiB/s / Linker send 1 MiB MiB/s")
    for c in CALLS:
        remote, local = rd.median(("calls", c, "remote")), rd.median(("calls", c, "local"))
        q[f"{c}_remote/rpc"] = (div(remote, rpc), f"forwarded {c} / Linker RPC 64 B")
        q[f"{c}_remote/local"] = (div(remote, local), f"forwarded {c} / local {c}")
    q["files_remote/local"] = (rd.median(("files", "slowdown")),
                               f"{args.file_mib} MiB of 4 KiB writes + fsync, remote / local")
    return q


def targets(q, args):
    """[(text, met or None)] for the two targets."""
    moves = [(f"{mb} MiB {d}", q[f"move_{mb}_{d}/send"][0])
             for mb in args.sizes for d in ("out", "home")]
    vals = [v for _, v in moves]
    t1 = None if None in vals else all(v >= BULK_TARGET for v in vals)
    calls = [(c, q[f"{c}_remote/rpc"][0]) for c in CALLS]
    cv = [v for _, v in calls]
    t2 = None if None in cv else all(v <= RPC_TARGET for v in cv)

    def show(pairs, pct):
        return ", ".join(f"{n} {'n/a' if v is None else f'{100 * v:.0f}%' if pct else f'{v:.2f}x'}"
                         for n, v in pairs)
    return [(f"migration >= {100 * BULK_TARGET:.0f}% of Linker bulk: {show(moves, True)}", t1),
            (f"forwarded call <= {RPC_TARGET} x RPC: {show(calls, False)}", t2)]


def verdict(met):
    return "not measured" if met is None else "MET" if met else "NOT MET"


def c(v, digits=1):
    return "-" if v is None else f"{v:,.0f}" if v >= 1000 else f"{v:.{digits}f}"


def print_tables(rd, q, args):
    send, rpc = rd.median(("send",)), rd.median(("rpc",))
    print(f"\nLinker, node0 -> node1 (median of {args.runs}): send 1 MiB messages "
          f"{c(send, 2)} MiB/s; RPC 64 B round trip {c(rpc)} µs\n")
    print(f"Moves, node0 -> node1 -> node0 (median of {args.runs}; MiB = 2^20 bytes):\n")
    print("| dirty memory | direction | MiB sent | freeze = total, kernel ms | "
          "total, process ms | MiB/s | ÷ Linker send |")
    print("|---|---|---|---|---|---|---|")
    for mb in args.sizes:
        for d in ("out", "home"):
            k = ("move", mb, d)
            print(f"| {mb} MiB | {'0 → 1' if d == 'out' else '1 → 0 (home)'} | "
                  f"{c(rd.median(k + ('mib',)), 2)} | {c(rd.median(k + ('freeze_ms',)))} | "
                  f"{c(rd.median(k + ('ms',)))} | {c(rd.median(k + ('mib_s',)), 2)} | "
                  f"{c(q[f'move_{mb}_{d}/send'][0], 2)} |")
    print(f"\nSystem calls (µs; {args.calls} of each; local: mean of a loop; forwarded: "
          f"median of calls timed one by one):\n")
    print("| call | local | forwarded from node1 | p10 – p90 | ÷ local | ÷ RPC 64 B | "
          "deputy calls per call | ucopies per call |")
    print("|---|---|---|---|---|---|---|---|")
    for cl in CALLS:
        k = ("calls", cl, "remote")
        print(f"| {CALL_NAMES[cl]} | {c(rd.median(('calls', cl, 'local')), 2)} | "
              f"{c(rd.median(k))} | {c(rd.median(k, 'p10'))} – {c(rd.median(k, 'p90'))} | "
              f"{c(q[f'{cl}_remote/local'][0], 0)} | {c(q[f'{cl}_remote/rpc'][0], 2)} | "
              f"{c(rd.median(k, 'served'), 2)} | {c(rd.median(k, 'ucopies'), 2)} |")
    print(f"\nFiles: {args.file_mib} MiB in 4 KiB writes + fsync to /data: local "
          f"{c(rd.median(('files', 'local')))} ms ({c(rd.median(('files', 'local'), 'mib_s'), 2)}"
          f" MiB/s), from node1 {c(rd.median(('files', 'remote')))} ms "
          f"({c(rd.median(('files', 'remote'), 'mib_s'), 2)} MiB/s): slowdown "
          f"{c(rd.median(('files', 'slowdown')), 2)}")
    print(f"Pages fetched on demand on node1: migtest -n 1 files /data "
          f"{c(rd.median(('fetched', 'migtest')), 0)}, memhash moved after a round "
          f"{c(rd.median(('fetched', 'memhash')), 0)}")
    print()
    for text, met in targets(q, args):
        print(f"target: {text}: {verdict(met)}")
    for key in sorted(rd.runs, key=str):
        vals = rd.values(key)
        if len(vals) > 1:
            print(f"  runs, {' '.join(map(str, key))}: " + ", ".join(c(v, 2) for v in vals))


def write_csv(rd, q, args, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "unit", "median", "runs", "failures"])
        for key in sorted(rd.runs, key=str):
            unit = ("MiB/s" if key[-1] in ("mib_s",) or key == ("send",) else
                    "MiB" if key[-1] == "mib" else "ms" if key[0] in ("move", "files") else
                    "pages" if key[0] == "fetched" else "ratio" if key[-1] == "slowdown"
                    else "us")
            med = rd.median(key)
            w.writerow([" ".join(map(str, key)), unit, "" if med is None else f"{med:.3f}",
                        " ".join(f"{v:.3f}" for v in rd.values(key)), ""])
        for key, reasons in sorted(rd.failed.items(), key=str):
            w.writerow([" ".join(map(str, key)), "", "", "", "; ".join(reasons)])
        for name, (v, desc) in q.items():
            w.writerow([f"ratio {name}", desc, "" if v is None else f"{v:.3f}", "", ""])
        for text, met in targets(q, args):
            w.writerow(["target", text, verdict(met), "", ""])
    print(f"csv: {os.path.relpath(path, ROOT)}")


def plot(rd, q, args, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    xs = range(len(args.sizes))
    for j, d in enumerate(("out", "home")):
        vs = [rd.median(("move", mb, d, "mib_s")) or 0 for mb in args.sizes]
        bars = a1.bar([i + 0.4 * j for i in xs], vs, width=0.4,
                      label="to node1" if d == "out" else "back home",
                      color="tab:blue" if d == "out" else "tab:cyan")
        a1.bar_label(bars, labels=[f"{v:.1f}" for v in vs], fontsize="x-small")
    send = rd.median(("send",))
    if send:
        a1.axhline(send, color="tab:orange", ls="--", label=f"Linker send 1 MiB: {send:.1f}")
        a1.axhline(send * BULK_TARGET, color="tab:red", ls=":",
                   label=f"target {100 * BULK_TARGET:.0f}%: {send * BULK_TARGET:.1f}")
    a1.set_xticks([i + 0.2 for i in xs])
    a1.set_xticklabels([f"{mb} MiB dirty" for mb in args.sizes], fontsize="small")
    a1.set_ylabel("MiB/s, dirty pages over the move (higher is better)", fontsize="small")
    a1.set_title("Migration throughput", fontsize="small")
    a1.legend(fontsize="x-small")
    a1.margins(y=0.2)

    rpc = rd.median(("rpc",))
    labels, local, remote = [], [], []
    for cl in CALLS:
        labels.append(CALL_NAMES[cl])
        local.append(rd.median(("calls", cl, "local")) or 0)
        remote.append(rd.median(("calls", cl, "remote")) or 0)
    xs = range(len(CALLS))
    for j, (vs, lab, col) in enumerate(((local, "local", "tab:green"),
                                        (remote, "forwarded from node1", "tab:blue"))):
        bars = a2.bar([i + 0.4 * j for i in xs], vs, width=0.4, label=lab, color=col)
        a2.bar_label(bars, labels=[f"{v:.1f}" for v in vs], fontsize="x-small")
    if rpc:
        a2.axhline(rpc, color="tab:orange", ls="--", label=f"Linker RPC 64 B: {rpc:.0f}")
        a2.axhline(rpc * RPC_TARGET, color="tab:red", ls=":",
                   label=f"target {RPC_TARGET} x RPC: {rpc * RPC_TARGET:.0f}")
    a2.set_yscale("log")
    a2.set_xticks([i + 0.2 for i in xs])
    a2.set_xticklabels(labels, fontsize="small")
    a2.set_ylabel("µs per call (lower is better)", fontsize="small")
    a2.set_title("System calls of a migrated process", fontsize="small")
    a2.legend(fontsize="x-small")
    fig.suptitle(f"Migration node0 → node1, {args.accel}, medians of {args.runs}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def sizes(text):
    try:
        v = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of MiB: {text!r}")
    if not v or not all(1 <= s <= 128 for s in v):
        raise argparse.ArgumentTypeError("sizes: 1..128 MiB each")
    return v


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].split(" — ", 1)[1],
        epilog="Details: the header of this file and docs/performance.md, \"Migration\".")
    ap.add_argument("--quick", action="store_true",
                    help="1 round, 200 calls, 2 MiB of file, 8 MiB of Linker send, 200 RPCs")
    ap.add_argument("--runs", type=int, help="rounds of every measurement (default 5)")
    ap.add_argument("--sizes", type=sizes, default=[1, 16, 64],
                    help="dirty MiB of the moved process, comma-separated (default 1,16,64)")
    ap.add_argument("--calls", type=int, help="calls of each kind and place (default 500)")
    ap.add_argument("--file-mib", type=int, help="MiB written by the file runs (default 8)")
    ap.add_argument("--link-mib", type=int, help="1 MiB messages per Linker send (default 32)")
    ap.add_argument("--rr", type=int, help="Linker RPCs of 64 B (default 1000)")
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"),
                    help="QEMU accelerator (default tcg, the reference)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the make output directory: shoal.elf, root.img")
    ap.add_argument("--mem", type=int, default=256, help="memory per node in MB (default 256)")
    ap.add_argument("--disk-mb", type=int, default=64,
                    help="each node's disk for /data in MB (default 64), made anew")
    ap.add_argument("--shoal-append", default="",
                    help="more boot options for both nodes (default none)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds one command may take (default 600)")
    args = ap.parse_args()
    for key, full, quick in (("runs", 5, 1), ("calls", 500, 200), ("file_mib", 8, 2),
                             ("link_mib", 32, 8), ("rr", 1000, 200)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
        if getattr(args, key) < 1:
            sys.exit(f"mig.py: --{key.replace('_', '-')} must be at least 1")
    if args.file_mib * 2 + 8 > args.disk_mb:
        sys.exit("mig.py: --file-mib needs a --disk-mb of at least twice that plus 8")
    os.makedirs(OUT, exist_ok=True)

    def progress(msg):
        print(msg, flush=True)

    progress(f"mig.py: {linkbench.describe_tree()}, host load {os.getloadavg()[0]:.2f}")
    problems = []
    rd, snaps = Rounds(), {}
    try:
        rd, snaps = run_cluster(args, progress)
    except (ShoalError, subprocess.SubprocessError, OSError) as e:
        problems.append(str(e))
    for key, reasons in sorted(rd.failed.items(), key=str):
        problems += [f"{' '.join(map(str, key))}: {r}" for r in reasons]

    q = ratios(rd, args)
    print_tables(rd, q, args)
    if "before" in snaps and "after" in snaps:
        for n in (0, 1):
            b, a = snaps["before"][n], snaps["after"][n]
            moved = ", ".join(f"{k} +{a[k] - b.get(k, 0)}" for k in a
                              if a[k] != b.get(k, 0) and not k.startswith("last_"))
            print(f"node{n} /proc/cluster/migrations over the run: {moved or 'no change'}")
    write_csv(rd, q, args, os.path.join(OUT, "mig.csv"))
    plot(rd, q, args, os.path.join(OUT, "mig.png"))
    for msg in problems:
        print(f"mig.py: {tail(msg, 15)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
