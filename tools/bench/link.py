#!/usr/bin/python3
"""tools/bench/link.py — the Linker's figures against raw frames and TCP (make bench-link).

Issue 6, "Measure": Linker throughput and RPC round trip for 64 B, 1 KB,
64 KB and 4 MB messages against raw frames on the same link and against
lwIP TCP between the same nodes, in one run. Targets: Linker bulk
throughput >= TCP's; RPC round trip <= 1.2 x a raw frame ping-pong.

One 2-node Shoal cluster booted directly (tools/lib/shoal, as
`tools/cluster up -n 2 --boot direct`, no disks) from BUILD's shoal.elf and
root.img; everything goes node0 -> node1 over NIC1 (eth1, virtio-net on the
cluster's VDE switch). Once both nodes see each other up in
/proc/cluster/nodes, --runs rounds of (each a command on node0's console):

  send     `linkperf -c N -s SIZE send 1` for 64 B, 1 KB, 64 KB, 4 MB:
           N one-way messages on the BULK channel, 32 in flight, timed
           until the last is acknowledged; N = --link-mib MiB worth, at
           least 8 and at most 20000 (so 64 B moves only 1.2 MiB); MiB/s
           of message bytes (2^20). The peer's count must equal N and
           none may arrive out of order (linkperf checks; no --seed, so
           no pattern is made or checked)
  rpc      `linkperf -c N -s SIZE rpc 1`: N calls of SIZE bytes answered
           with 8 bytes, one at a time; the median per call. N = --rr for
           64 B and 1 KB, --rr/10 for 64 KB, --rr/100 (at least 4) for 4 MB
  raw      `linkperf -c --frames -s 64,1400 raw 1`: unacknowledged raw
           frames (payload 64 and 1400 B; 138 and 1474 B on the wire) sent
           back to back by node0's kernel; sent frames/s over the send
           loop's time, received = what node1's engine counted over that
           same time; MiB/s of payload
  rawping  `linkperf -c --rr -s 64,1400 rawping 1`: raw frames echoed by
           node1's engine, one at a time; the median round trip: the link
           below the transport, the floor of an RPC
  tcp_bw   net.py's TCP throughput: `netx send` of --tcp-mib MiB to `netx
           recv` (16 MiB of a xorshift stream in 64 KiB writes, FNV-1a
           checked at both ends), the receiver's MiB/s
  tcprr    `netx tcprr` of N round trips of SIZE bytes (TCP_NODELAY, echoed
           whole) to `netx rrserver` for 64 B, 1 KB and 64 KB (netx's
           limit), N as for rpc; the median
  pairs    at the end of each round, PAIRS (5) pairs of `rpc 64 B` and
           `rawping 64 B` of --rr/2 round trips each, back to back, so that
           both halves of a pair meet the same host load; each pair's
           ratio of medians (pair_ratio)

Each figure is the median over the rounds (for round trips: of each
round's median). Ratios, all from this one run:
  send SIZE / tcp_bw       target 1 (>= 1) for the bulk sizes, 64 KB and 4 MB
  send SIZE / raw 1400 B received MiB/s   the share of the link's frame rate
  rpc 64 B / rawping 64 B  target 2 (<= 1.2): the median of the pairs'
                           ratios (the rows measured apart are shown too:
                           on a shared host they meet different loads)
  rpc SIZE / tcprr SIZE    the same sizes over TCP (TCP echoes SIZE bytes,
                           the RPC answers with 8)

The Linker's counters (/proc/cluster/nodes, /proc/cluster/link) and
/proc/net/nics of both nodes before the first and after the last round go
to build/bench/link-counters.txt, and their changes are summarised.

Every wait is for console output with a timeout (net.py's helpers for netx).
Prints the tables, writes build/bench/link.csv and build/bench/link.png. A
benchmark, not a test: the exit status is 1 only when something could not
be measured, never because a target was missed.

  tools/bench/link.py [--quick] [--runs 5] [--accel tcg|kvm] [--link-mib 16]
                      [--tcp-mib 16] [--rr 2000] [--frames 20000]
                      [--build build] [--mem 256] [--shoal-append OPTS]
"""
import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import net as netbench  # noqa: E402  (also puts tools/lib on the path)

from shoal import ShoalError  # noqa: E402
from shoal.console import ConsoleTimeout, tail  # noqa: E402

ROOT, OUT = netbench.ROOT, netbench.OUT
BenchError, fmt = netbench.BenchError, netbench.fmt

SIZES = (64, 1024, 65536, 4 << 20)  # Linker messages
TCP_RR_SIZES = (64, 1024, 65536)  # netx tcprr takes at most 64 KiB
RAW_SIZES = (64, 1400)  # raw frame payload (linkperf's limit is 1400)
RAW_HDR = 14 + 60  # Ethernet and Linker headers of a raw frame
BULK_SIZES = (65536, 4 << 20)  # what target 1 is judged on
SEND_MAX = 20000  # messages per send run (linkperf's own default cap)
RPC_TARGET = 1.2
PEER = 1

LINE_RE = re.compile(
    r"^(send|rpc|raw|rawping) +(\d+) +(\d+) +([\d.]+) ms +([\d.]+) MiB/s +(\d+) msg/s"
    r"(?: rtt min (\d+) median (\d+) max (\d+) us)? retrans (\d+) peer (\d+)(?: bad (\d+))?",
    re.M)


def size_name(n):
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n >> 10} KB" if n >= 1024 else f"{n} B"


METRICS = ("send", "rpc", "raw_tx", "raw_rx", "rawping", "tcp_bw", "tcprr",
           "pair_ratio")
PAIRS = 5


def key_name(key):
    """("rpc", 1024) -> "rpc 1 KB"; raw frame sizes in bytes."""
    metric, size = key
    if not size:
        return metric
    return f"{metric} {size} B" if metric.startswith("raw") else f"{metric} {size_name(size)}"


def key_order(key):
    return METRICS.index(key[0]), key[1]


def counts(args):
    """Messages per size: {mode: {size: count}}."""
    def send_count(size):
        return max(8, min(SEND_MAX, (args.link_mib << 20) // size))

    def rr_count(size):
        return (args.rr if size <= 1024 else max(10, args.rr // 10) if size <= 65536
                else max(4, args.rr // 100))
    return {"send": {s: send_count(s) for s in SIZES},
            "rpc": {s: rr_count(s) for s in SIZES},
            "tcprr": {s: rr_count(s) for s in TCP_RR_SIZES},
            "raw": {s: args.frames for s in RAW_SIZES},
            "rawping": {s: args.rr for s in RAW_SIZES}}


# ------------------------------------------------------------- measuring
class Rounds:
    """Per (metric, size): the rounds' results (dicts with 'value') or why
    a measurement failed."""

    def __init__(self):
        self.runs, self.failed = {}, {}

    def add(self, key, result):
        self.runs.setdefault(key, []).append(result)

    def fail(self, key, reason):
        self.failed.setdefault(key, []).append(reason)

    def median(self, key, field="value"):
        vs = [r[field] for r in self.runs.get(key, []) if r.get(field) is not None]
        return statistics.median(vs) if vs else None

    def values(self, key, field="value"):
        return [r[field] for r in self.runs.get(key, [])]

    def total(self, key, field):
        return sum(r.get(field, 0) for r in self.runs.get(key, []))


def linkperf(con, mode, size, count, args):
    """One `linkperf` run: its output line's fields; BenchError if it
    failed or the peer's count is wrong."""
    cmd = f"linkperf -c {count} -s {size} {mode} {PEER}"
    out, status = con.run(cmd, timeout=args.timeout)
    m = LINE_RE.search(out)
    if not m or status != 0:
        why = [ln for ln in out.splitlines() if ln.startswith("linkperf:")]
        raise BenchError(f"{cmd}: status {status}: " + ("; ".join(why) or tail(out, 5)))
    g = m.groups()
    r = {"msgs": int(g[2]), "ms": float(g[3]), "mib_s": float(g[4]), "rate": float(g[5]),
         "retrans": int(g[9]), "peer": int(g[10])}
    if g[6] is not None:
        r.update(min_us=float(g[6]), median_us=float(g[7]), max_us=float(g[8]))
    if r["msgs"] != count:
        raise BenchError(f"{cmd}: only {r['msgs']} of {count} done")
    return r


def tcp_rr(cli, srv, size, count, args):
    """netx tcprr of count round trips of size bytes (net.py's tcp_rr, any size)."""
    port, pid = netbench.start_server(srv, "rrserver 0")
    out = netbench.client(cli, f"tcprr {netbench.SHOAL_IP[PEER]} {port} {count} {size}",
                          args.timeout, srv, pid)
    netbench.server_result(srv, r"rrserver: echoed (\d+) bytes", pid, 30)
    return netbench.rr_result(out, "tcprr")


def attempt(rounds, key, progress, fn):
    """fn() -> result dict into rounds[key]; a failure is noted, not raised."""
    try:
        r = fn()
    except (BenchError, ConsoleTimeout) as e:
        rounds.fail(key, str(e).split("\n")[0])
        progress(f"    {key_name(key)} failed: {e}")
        return None
    rounds.add(key, r)
    return r


def one_round(c0, c1, args, n, rounds, progress):
    for size in SIZES:
        key = ("send", size)
        r = attempt(rounds, key, progress,
                    lambda: linkperf(c0, "send", size, n["send"][size], args))
        if r:
            r["value"] = r["mib_s"]
            if r["peer"] != r["msgs"]:
                rounds.fail(key, f"{r['msgs']} sent, {r['peer']} arrived")
            progress(f"    send {size_name(size):>5}: {r['msgs']} in {r['ms']:.0f} ms, "
                     f"{r['mib_s']:.2f} MiB/s, {r['rate']:.0f} msg/s, retrans {r['retrans']}")
    for size in SIZES:
        r = attempt(rounds, ("rpc", size), progress,
                    lambda: linkperf(c0, "rpc", size, n["rpc"][size], args))
        if r:
            r["value"] = r["median_us"]
            progress(f"    rpc {size_name(size):>5}: {r['msgs']} calls, median "
                     f"{r['median_us']:.0f} µs (min {r['min_us']:.0f}, max "
                     f"{r['max_us']:.0f}), retrans {r['retrans']}")
    for size in RAW_SIZES:
        r = attempt(rounds, ("raw_tx", size), progress,
                    lambda: linkperf(c0, "raw", size, n["raw"][size], args))
        if r:
            r["value"] = r["rate"]
            secs = r["ms"] / 1e3
            rx = {"value": r["peer"] / secs, "mib_s": r["peer"] * size / secs / 2**20,
                  "share": r["peer"] / r["msgs"]}
            rounds.add(("raw_rx", size), rx)
            progress(f"    raw {size:>4} B: sent {r['rate']:.0f} frames/s "
                     f"({r['mib_s']:.2f} MiB/s), received {r['peer']} of {r['msgs']} "
                     f"({rx['value']:.0f} frames/s, {rx['mib_s']:.2f} MiB/s)")
    for size in RAW_SIZES:
        r = attempt(rounds, ("rawping", size), progress,
                    lambda: linkperf(c0, "rawping", size, n["rawping"][size], args))
        if r:
            r["value"] = r["median_us"]
            progress(f"    rawping {size:>4} B: median {r['median_us']:.0f} µs "
                     f"(min {r['min_us']:.0f}, max {r['max_us']:.0f})")
    bw_args = types.SimpleNamespace(runs=1, tcp_mib=args.tcp_mib, timeout=args.timeout)
    attempt(rounds, ("tcp_bw", 0), progress,
            lambda: netbench.tcp_bw(c0, c1, netbench.SHOAL_IP[PEER], bw_args, progress))
    for size in TCP_RR_SIZES:
        r = attempt(rounds, ("tcprr", size), progress,
                    lambda: tcp_rr(c0, c1, size, n["tcprr"][size], args))
        if r:
            progress(f"    tcprr {size_name(size):>5}: median {r['value']:.0f} µs "
                     f"({r['detail']})")
    # The target's two round trips back to back, several times: each pair
    # meets one host load, so its ratio is the transport's own cost.
    count = max(10, args.rr // 2)
    for _ in range(PAIRS):
        try:
            a = linkperf(c0, "rpc", 64, count, args)
            b = linkperf(c0, "rawping", 64, count, args)
        except (BenchError, ConsoleTimeout) as e:
            rounds.fail(("pair_ratio", 64), str(e).split("\n")[0])
            continue
        rounds.add(("pair_ratio", 64), {"value": a["median_us"] / b["median_us"],
                                        "rpc_us": a["median_us"],
                                        "rawping_us": b["median_us"]})
    vals = rounds.values(("pair_ratio", 64))[-PAIRS:]
    if vals:
        progress("    pairs rpc/rawping 64 B: " + ", ".join(f"{v:.2f}" for v in vals))


# ------------------------------------------------------------- counters
def peer_up(con, node):
    out, status = con.run("cat /proc/cluster/nodes")
    return status == 0 and re.search(rf"(?m)^{node} +\S+ +up ", out) is not None


def wait_linked(c0, c1, timeout=15.0):
    """Until each node lists the other as up (hellos every 500 ms)."""
    deadline = time.monotonic() + timeout
    while not (peer_up(c0, 1) and peer_up(c1, 0)):
        if time.monotonic() > deadline:
            out, _ = c0.run("cat /proc/cluster/nodes")
            raise BenchError(f"the nodes do not see each other up within {timeout:g} s:\n{out}")


COUNTER_FILES = ("/proc/cluster/nodes", "/proc/cluster/link", "/proc/net/nics")


def snapshot(cons):
    """{node: {file: text}} of the counter files."""
    snap = {}
    for node, con in cons.items():
        snap[node] = {}
        for path in COUNTER_FILES:
            out, status = con.run(f"cat {path}")
            snap[node][path] = out if status == 0 else f"(cat {path}: status {status})\n"
    return snap


def link_counters(text):
    return {k: int(v) for k, v in re.findall(r"(?m)^(\w+) (\d+)$", text)}


def node_row(text, node):
    """A /proc/cluster/nodes row as {column: value}."""
    lines = text.splitlines()
    if not lines:
        return {}
    cols = lines[0].split()
    for ln in lines[1:]:
        f = ln.split()
        if f and f[0] == str(node) and len(f) == len(cols):
            return dict(zip(cols, f))
    return {}


def counter_summary(before, after):
    """Lines naming what moved in the Linker's counters during the run."""
    lines = []
    for node in sorted(after):
        b = link_counters(before[node]["/proc/cluster/link"])
        a = link_counters(after[node]["/proc/cluster/link"])
        moved = {k: a[k] - b.get(k, 0) for k in a if a[k] != b.get(k, 0)}
        keys = ("tx_frames", "rx_frames", "retransmits", "rx_dropped", "tx_errors")
        main = ", ".join(f"{k} +{moved.get(k, 0)}" for k in keys)
        drops = ", ".join(f"{k[5:]} +{v}" for k, v in moved.items() if k.startswith("drop_"))
        other = 1 - node
        row = node_row(after[node]["/proc/cluster/nodes"], other)
        lines.append(f"node{node}: {main}; drops: {drops or 'none'}; towards node{other}: "
                     f"rtt_us {row.get('rtt_us', '?')}, retrans {row.get('retrans', '?')} "
                     f"in all")
    return lines


def write_counters(before, after, path):
    with open(path, "w") as f:
        for label, snap in (("before the first round", before), ("after the last round", after)):
            for node in sorted(snap):
                for p, text in snap[node].items():
                    f.write(f"==== node{node} {p}, {label}\n{text}")
    print(f"counters: {os.path.relpath(path, ROOT)}")


def run_cluster(args, progress):
    rounds, n = Rounds(), counts(args)
    snaps = {}
    with netbench.shoal_pair(args, "c-link", progress) as (c0, c1):
        wait_linked(c0, c1)
        snaps["before"] = snapshot({0: c0, 1: c1})
        for run in range(args.runs):
            progress(f"  round {run + 1} of {args.runs}:")
            t0 = time.monotonic()
            one_round(c0, c1, args, n, rounds, progress)
            progress(f"  round {run + 1}: {time.monotonic() - t0:.1f} s")
        snaps["after"] = snapshot({0: c0, 1: c1})
    return rounds, snaps


# ------------------------------------------------------------- results
def ratios(rd):
    """name -> (value or None, description) for every ratio."""
    q = {}

    def div(a, b):
        return a / b if a is not None and b else None
    tcp = rd.median(("tcp_bw", 0))
    raw_rx = rd.median(("raw_rx", 1400), "mib_s")
    for s in SIZES:
        q[f"send_{s}/tcp_bw"] = (div(rd.median(("send", s)), tcp),
                                 f"Linker send {size_name(s)} / TCP throughput")
        q[f"send_{s}/raw_rx_1400"] = (div(rd.median(("send", s)), raw_rx),
                                      f"Linker send {size_name(s)} / raw 1400 B received MiB/s")
    for s in TCP_RR_SIZES:
        q[f"rpc_{s}/tcprr_{s}"] = (div(rd.median(("rpc", s)), rd.median(("tcprr", s))),
                                   f"RPC {size_name(s)} / TCP round trip {size_name(s)}")
    q["rpc_64/rawping_64"] = (div(rd.median(("rpc", 64)), rd.median(("rawping", 64))),
                              "RPC 64 B / raw ping-pong 64 B, measured apart")
    q["pair_ratio_64"] = (rd.median(("pair_ratio", 64)),
                          "RPC 64 B / raw ping-pong 64 B, back-to-back pairs (median)")
    q["rpc_1024/rawping_1400"] = (div(rd.median(("rpc", 1024)), rd.median(("rawping", 1400))),
                                  "RPC 1 KB / raw ping-pong 1400 B (both one frame)")
    return q


def targets(rd, q):
    """[(text, met or None)] for the issue's two targets."""
    bulk = [q[f"send_{s}/tcp_bw"][0] for s in BULK_SIZES]
    t1 = None if None in bulk else all(x >= 1 for x in bulk)
    t2v = q["pair_ratio_64"][0]
    t2 = None if t2v is None else t2v <= RPC_TARGET
    bulk_txt = ", ".join(f"{size_name(s)} {'n/a' if x is None else f'{x:.2f}x'}"
                         for s, x in zip(BULK_SIZES, bulk))
    return [(f"Linker bulk throughput >= TCP's: send / TCP = {bulk_txt}", t1),
            (f"RPC round trip <= {RPC_TARGET} x raw ping-pong: RPC 64 B / rawping 64 B "
             "(back-to-back pairs) = " + ("n/a" if t2v is None else f"{t2v:.2f}"), t2)]


def verdict(met):
    return "not measured" if met is None else "MET" if met else "NOT MET"


def c(v):
    return "-" if v is None else f"{v:,.0f}" if v >= 1000 else f"{v:.1f}" if v >= 10 \
        else f"{v:.2f}"


def rate(v):
    return "-" if v is None else f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


def qc(v):
    return "-" if v is None else f"{v:.2f}"


def print_tables(rd, q, args, n):
    runs = args.runs
    tcp = rd.median(("tcp_bw", 0))
    raw_rx = rd.median(("raw_rx", 1400), "mib_s")
    print(f"\nThroughput, node0 -> node1 (median of {runs}; MiB = 2^20 bytes):\n")
    print("| what | messages | MiB/s | msg/s | ÷ TCP | ÷ raw 1400 B received | retrans |")
    print("|---|---|---|---|---|---|---|")
    for s in SIZES:
        k = ("send", s)
        print(f"| Linker send {size_name(s)} | {n['send'][s]:,} | {c(rd.median(k))} | "
              f"{rate(rd.median(k, 'rate'))} | {qc(q[f'send_{s}/tcp_bw'][0])} | "
              f"{qc(q[f'send_{s}/raw_rx_1400'][0])} | {rd.total(k, 'retrans')} |")
    print(f"| TCP (netx), {args.tcp_mib} MiB | 1 stream | {c(tcp)} | | 1.00 | "
          f"{qc(tcp / raw_rx if tcp and raw_rx else None)} | |")
    for s in RAW_SIZES:
        tx, rx = ("raw_tx", s), ("raw_rx", s)
        share = rd.median(rx, "share")
        print(f"| raw frames {s} B sent ({s + RAW_HDR} B frames) | {n['raw'][s]:,} | "
              f"{c(rd.median(tx, 'mib_s'))} | {rate(rd.median(tx))} | | | |")
        print(f"| raw frames {s} B received | "
              f"{'-' if share is None else f'{100 * share:.0f}% of those sent'} | "
              f"{c(rd.median(rx, 'mib_s'))} | {rate(rd.median(rx))} | | | |")
    print(f"\nRound trips, one at a time (µs; median of {runs} runs' medians):\n")
    print("| size | Linker RPC | calls | TCP round trip | RPC ÷ TCP | raw ping-pong | "
          "RPC ÷ raw ping-pong |")
    print("|---|---|---|---|---|---|---|")
    for s in SIZES:
        tr = q.get(f"rpc_{s}/tcprr_{s}", (None,))[0]
        raw = 64 if s == 64 else 1400 if s == 1024 else None
        rq = q["rpc_64/rawping_64"][0] if s == 64 else \
            q["rpc_1024/rawping_1400"][0] if s == 1024 else None
        print(f"| {size_name(s)} | {rate(rd.median(('rpc', s)))} | {n['rpc'][s]:,} | "
              f"{rate(rd.median(('tcprr', s))) if s in TCP_RR_SIZES else 'n/a'} | {qc(tr)} | "
              + (f"{rate(rd.median(('rawping', raw)))} ({raw} B) | {qc(rq)} |" if raw
                 else "| |"))
    pairs = rd.values(("pair_ratio", 64))
    if pairs:
        print(f"\nRPC 64 B ÷ raw ping-pong 64 B, back to back ({len(pairs)} pairs): median "
              f"{qc(rd.median(('pair_ratio', 64)))}; pairs " + ", ".join(qc(v) for v in pairs))
    print()
    for text, met in targets(rd, q):
        print(f"target: {text}: {verdict(met)}")
    for key in sorted(rd.runs, key=key_order):
        vals = [r.get("value") for r in rd.runs[key] if r.get("value") is not None]
        if len(vals) > 1:
            print(f"  runs, {key_name(key)}: " + ", ".join(c(v) for v in vals))


def write_csv(rd, q, path):
    units = {"send": "MiB/s", "rpc": "us", "raw_tx": "frames/s", "raw_rx": "frames/s",
             "rawping": "us", "tcp_bw": "MiB/s", "tcprr": "us", "pair_ratio": "ratio"}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "size_bytes", "unit", "median", "runs", "mib_per_s", "retrans",
                    "failures"])
        keys = sorted(set(rd.runs) | set(rd.failed), key=key_order)
        for key in keys:
            metric, size = key
            med = rd.median(key)
            mib = rd.median(key, "mib_s") if metric != "send" else med
            w.writerow([metric, size or "", units[metric],
                        "" if med is None else f"{med:.3f}",
                        " ".join(f"{v:.3f}" for v in rd.values(key)),
                        "" if mib is None else f"{mib:.3f}",
                        rd.total(key, "retrans") if metric in ("send", "rpc") else "",
                        "; ".join(rd.failed.get(key, []))])
        for name, (v, desc) in q.items():
            w.writerow([f"ratio {name}", "", desc, "" if v is None else f"{v:.3f}", "", "",
                        "", ""])
        for text, met in targets(rd, q):
            w.writerow(["target", "", text, verdict(met), "", "", "", ""])
    print(f"csv: {os.path.relpath(path, ROOT)}")


def plot(rd, q, args, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.2))
    labels = [size_name(s) for s in SIZES]
    xs = range(len(SIZES))
    send = [rd.median(("send", s)) or 0 for s in SIZES]
    bars = a1.bar(xs, send, color="tab:blue", label="Linker send")
    a1.bar_label(bars, labels=[f"{v:.1f}" for v in send], fontsize="x-small")
    tcp = rd.median(("tcp_bw", 0))
    raw = rd.median(("raw_rx", 1400), "mib_s")
    if tcp:
        a1.axhline(tcp, color="tab:orange", ls="--", label=f"TCP {args.tcp_mib} MiB: {tcp:.1f}")
    if raw:
        a1.axhline(raw, color="tab:gray", ls=":", label=f"raw 1400 B received: {raw:.1f}")
    a1.set_xticks(list(xs))
    a1.set_xticklabels(labels, fontsize="small")
    a1.set_ylabel("MiB/s (higher is better)", fontsize="small")
    a1.set_title("Throughput by message size", fontsize="small")
    a1.legend(fontsize="x-small")
    a1.margins(y=0.15)

    rpc = [(s, rd.median(("rpc", s))) for s in SIZES]
    tr = [(s, rd.median(("tcprr", s))) for s in TCP_RR_SIZES]
    rp = [(s, rd.median(("rawping", s))) for s in RAW_SIZES]
    for pts, style, label in ((rpc, "o-", "Linker RPC (8 B reply)"),
                              (tr, "s--", "TCP round trip (echo)"),
                              (rp, "^:", "raw ping-pong (64 B, 1400 B)")):
        pts = [(s, v) for s, v in pts if v]
        if pts:
            a2.plot([s for s, _ in pts], [v for _, v in pts], style, label=label)
    a2.set_xscale("log", base=2)
    a2.set_yscale("log")
    a2.set_xticks(SIZES)
    a2.set_xticklabels([size_name(s) for s in SIZES], fontsize="small")
    a2.minorticks_off()
    a2.set_xlabel("request bytes", fontsize="small")
    a2.set_ylabel("µs per round trip, median (lower is better)", fontsize="small")
    r = q["rpc_64/rawping_64"][0]
    a2.set_title("Round trips" + (f"; RPC 64 B ÷ raw 64 B = {r:.2f} (target ≤ {RPC_TARGET})"
                                  if r else ""), fontsize="small")
    a2.legend(fontsize="x-small")

    for j, d in enumerate(("raw_tx", "raw_rx")):
        vs = [rd.median((d, s)) or 0 for s in RAW_SIZES]
        bars = a3.bar([i + 0.4 * j for i in range(len(RAW_SIZES))], vs, width=0.4,
                      label="sent" if d == "raw_tx" else "received",
                      color="tab:blue" if d == "raw_tx" else "tab:cyan")
        a3.bar_label(bars, labels=[fmt(v) for v in vs], fontsize="x-small")
    a3.set_xticks([i + 0.2 for i in range(len(RAW_SIZES))])
    a3.set_xticklabels([f"{s} B payload" for s in RAW_SIZES], fontsize="small")
    a3.set_ylabel("frames/s (higher is better)", fontsize="small")
    a3.set_title("Raw Linker frames, unacknowledged", fontsize="small")
    a3.legend(fontsize="x-small")
    a3.margins(y=0.15)
    fig.suptitle(f"Linker: node0 → node1 over virtio-net on a VDE switch, {args.accel}, "
                 f"medians of {args.runs}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def describe_tree():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    return f"commit {head or '?'}" + (" with uncommitted changes" if dirty else "")


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].split(" — ", 1)[1],
        epilog="Details: the header of this file and docs/performance.md, \"Linker\".")
    ap.add_argument("--quick", action="store_true",
                    help="1 round, 4 MiB per send size and TCP, 200 round trips, 5000 frames")
    ap.add_argument("--runs", type=int, help="rounds of every measurement (default 5)")
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"),
                    help="QEMU accelerator (default tcg, the reference)")
    ap.add_argument("--link-mib", type=int,
                    help="MiB per Linker send size (default 16; at most 20000 messages)")
    ap.add_argument("--tcp-mib", type=int, help="MiB per TCP throughput run (default 16)")
    ap.add_argument("--rr", type=int,
                    help="round trips of 64 B and 1 KB, and raw pings (default 2000; "
                         "a tenth for 64 KB, a hundredth for 4 MB)")
    ap.add_argument("--frames", type=int, help="raw frames per size (default 20000)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the make output directory: shoal.elf, root.img")
    ap.add_argument("--mem", type=int, default=256, help="memory per node in MB (default 256)")
    ap.add_argument("--shoal-append", default="",
                    help="more boot options for both nodes, e.g. hello_ms=200 (default none)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds one command may take (default 600)")
    args = ap.parse_args()
    for key, full, quick in (("runs", 5, 1), ("link_mib", 16, 4), ("tcp_mib", 16, 4),
                             ("rr", 2000, 200), ("frames", 20000, 5000)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
        if getattr(args, key) < 1:
            sys.exit(f"link.py: --{key.replace('_', '-')} must be at least 1")
    if args.frames > 1000000 or args.rr > 1000000:
        sys.exit("link.py: --frames and --rr: at most 1000000 (linkperf's limit)")
    os.makedirs(OUT, exist_ok=True)

    def progress(msg):
        print(msg, flush=True)

    progress(f"link.py: {describe_tree()}, host load {os.getloadavg()[0]:.2f}")
    problems = []
    rd, snaps = Rounds(), {}
    try:
        rd, snaps = run_cluster(args, progress)
    except (ShoalError, subprocess.SubprocessError, OSError) as e:
        problems.append(str(e))
    for key, reasons in sorted(rd.failed.items()):
        problems += [f"{key_name(key)}: {r}" for r in reasons]

    n = counts(args)
    q = ratios(rd)
    print_tables(rd, q, args, n)
    if "before" in snaps and "after" in snaps:
        print("\nLinker counters over the whole run:")
        for line in counter_summary(snaps["before"], snaps["after"]):
            print(f"  {line}")
        write_counters(snaps["before"], snaps["after"], os.path.join(OUT, "link-counters.txt"))
    write_csv(rd, q, os.path.join(OUT, "link.csv"))
    plot(rd, q, args, os.path.join(OUT, "link.png"))
    for msg in problems:
        print(f"link.py: {tail(msg, 15)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
