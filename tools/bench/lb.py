#!/usr/bin/python3
"""tools/bench/lb.py — the load balancer on a real cluster: the paper's Table 1 (make bench-lb).

Issue 8, "Measure": the Table 1 sweep of Barak, Braverman, Gilderman and
Laden's "Performance of PVM with the MOSIX preemptive process migration
scheme" (N identical CPU-bound processes started on one node of 16) on a
real Shoal cluster, for the `mosix` policy, for `static` (round-robin
placement at start, PVM's way) and against the optimal formula; the same on
a heterogeneous cluster; and what balancing costs an idle node.

Clusters, one at a time (tools/lib/shoal, as `tools/cluster up --boot
direct --disk-mb 0`) from BUILD's shoal.elf and root.img, in
build/bench/c-lb/ (a directory of this worktree: its sockets and VDE
switch are its own), each of --nodes nodes (16):

  idle     every node under `--icount 5`, booted with `lb=mosix`, then
           again with `lb=off info_ms=60000` (quiet: the balancer sends its
           load once a minute instead of once a second and decides
           nothing); the Linker's default hello period
  equal    every node under `--icount 5`: QEMU's clock advances 32 ns per
           guest instruction, so each node is the reference node (speed
           1000) whatever the host does, and every time below is guest
           time (CLOCK_MONOTONIC in the guest); booted with `lb=off` (the
           policy is set at run time) and `hello_ms=--hello-ms`
  hetero   the same with the last third of the nodes (11-15 of 16; node 0
           is always fast) under `--icount 7`: 128 ns an instruction, 4x
           slower; their kernels' boot-time speed and `cpuhog --calibrate`
           on node 0 and the first slow node are reported (the boot-time
           loop, its best 2 ms slice, reads 1000 and 249; its 50 ms
           average had read 971-1102 on the fast nodes of one boot and
           195 on the slow; the optimal takes the nominal speeds)

--hello-ms (default 1000: a node is down after 3 s without a word, not
the kernel's 1.5 s): with 16 TCG nodes on a 2-core host, nodes at times
miss 1.5 s of each other's hellos (first seen at the start of `spawn -n
16` runs: most nodes saw several others down and up again at once), and a
node that sees a process's home down ends the process (mosix/mig.c,
node_lost): the copies exit as killed (137) and the run is lost. The
balancer's own messages are not hellos, so a longer period changes only
how soon a dead node is noticed. A run in which node 0 lost copies (its
`lost` count in /proc/cluster/migrations grew) is reported as failed.

One measurement (a "run"): the policy is written to /proc/cluster/policy on
every node (an automatic move needs its target's consent, which only a
node in `mosix` mode gives), then node 0's console runs
  spawn -n N [--static] cpuhog JOB_S
(user/spawn.c: N copies forked and exec'd on node 0; with --static copy i
is sent at once to the i-th node that is up, round robin from node 0) and
the figure is spawn's "N copies in T s": from the first fork to the last
exit. Before a `mosix` run the script waits until node 0 knows every
node's load and none is above a quarter of a process (the exported load
decays by 1/8 a second, ~19 s after 3 processes a node), so each run starts
from an idle cluster that looks idle. The copies' node histories give the
number of moves and the copies moved twice or more (e.g. 0>3>0). Every
point is the median of --runs runs; the checksums of all copies must agree.

The optimal column is lbsim's formula (tools/lbsim/lbsim.c, optimal()):
free, instant migration that at every completion spreads the remaining
work over the nodes as evenly as their speeds allow, the longest remaining
work on the fastest slots. With equal speeds and jobs it is the paper's
optimal column (581.25 s at 31 processes where the paper printed 563); on
the heterogeneous cluster it takes the nominal speeds 1 and 1/4 (what
icount makes exact). The paper's own optimal, MOSIX and PVM columns are
shown scaled by JOB_S / 300.

Scaled-down jobs: the policy's fixed delays do not scale with the job. A
new process stays 1 s where it starts (the residency period; the paper's
MOSIX had the same 1 s), a moved one 3 s where it arrives (the move gap),
loads travel once a second and an emptied node looks idle only after ~3 s
of decay: against a 30 s job the residency alone is 3.3% of the work, ten
times its 0.33% of the paper's 300 s jobs, so slowdowns against the
optimal are expected to be larger here than in the paper or in lbsim (which
simulates 300 s jobs), the more so the shorter --job-s.

Idle cost: on each idle cluster, once every node sees all the others (and
with `lb=mosix` once node 0 knows every node's load), each node's console
runs `cat /proc/uptime
/proc/cluster/link /proc/cluster/balance /proc/cluster/nodes; read LBU0 LBI0
< /proc/uptime` (read is a shell builtin: no process starts), the script
waits --idle-s seconds, then `read LBU1 LBI1 < /proc/uptime; ...` and the
same cat. Per node:
  CPU      the busy share 1 - d(idle)/d(uptime) between the two reads
           (/proc/uptime's second figure is the idle thread's time,
           sched_idle_ns, in centiseconds). No figure reports the CPU of a
           kernel thread such as `lbd` or the Linker's, so this is all the
           kernel did on an idle node: the timer, the Linker's hellos,
           lbd's sampling, dissemination and decisions, and echoing the
           line typed in between; the balancer's own share is the mosix
           cluster's figure minus the quiet one's (lbd's once-a-second
           load computation runs in both)
  frames   per second between the two cats, from /proc/cluster/link: sent
           (hellos, broadcast every 500 ms; data, at idle the balancer's
           LB_INFO messages; acks), received (unicast, the sum of the
           peers' rx_frames in /proc/cluster/nodes; the rest are the other
           nodes' hellos), and LB_INFO messages sent and received
           (/proc/cluster/balance)

Prints the tables (Table 1, heterogeneous, idle), writes build/bench/lb.csv
(the sweeps), build/bench/lb-idle.csv (per node) and build/bench/lb.png. A
benchmark, not a test: exit 1 only when something could not be measured,
never because of the figures.

Time: the full run (16 nodes, 30 s jobs, 19 points, 3 runs, 4
heterogeneous points, idle 30 s) should take about 3 h (the estimate is
printed first: the optimal + 10% and ~20 s of settling per mosix run, the
round-robin time per static run, a minute per cluster). It is guest time;
on the 2-core development host 16 nodes with a cpuhog each kept up with
real time (a 16-node trial: guest and wall clocks within 10%), and a
busier host makes the wall-clock time longer. --quick (4 nodes, 5 s jobs,
points 1,4,8, heterogeneous 4,8, 1 run, idle 5 s) takes about 4 minutes.

  tools/bench/lb.py [--quick] [--nodes 16] [--job-s 30] [--points 1,2,4,...,48]
                    [--runs 3] [--policies mosix,static] [--hetero-points 8,16,24,32]
                    [--no-hetero] [--idle-s 30] [--hello-ms 1000] [--build build]
                    [--mem 256] [--shoal-append OPTS]
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
from shoal.cluster import Cluster, default_timeout  # noqa: E402
from shoal.config import ClusterConfig, format_icount  # noqa: E402
from shoal.console import ConsoleTimeout, tail  # noqa: E402

ROOT, OUT = netbench.ROOT, netbench.OUT
BenchError = netbench.BenchError
HOLDER = "bench/lb"
CLUSTER_DIR = "c-lb"
FAST_SHIFT, SLOW_SHIFT = 5, 7
POLICIES = ("mosix", "static")
POINTS = (1, 2, 4, 8, 16, 17, 20, 24, 25, 27, 31, 32, 33, 36, 38, 40, 43, 47, 48)
HETERO_POINTS = (8, 16, 24, 32)
SETTLE_LOAD = 25  # a quarter of a process (100 = one always running)
SETTLE_MAX_S = 120.0
SETTLE_GUESS_S = 20.0  # for the time estimate
LINKED_MAX_S = 60.0
IDLE_APPEND = {"mosix": "lb=mosix", "quiet": "lb=off info_ms=60000"}
HELLO_MS = 1000  # the sweeps' Linker hello period (see the header)

# The paper's Table 1 (tools/lbsim/lbsim.c, paper1[]): processes, optimal,
# MOSIX, PVM, PVM on MOSIX; seconds for jobs of PAPER_JOB_S.
PAPER_JOB_S = 300.0
PAPER1 = (
    (1, 300, 301.91, 301.83, 304.54), (2, 300, 302.92, 303.78, 304.70),
    (4, 300, 304.57, 305.60, 306.59), (8, 300, 305.73, 308.57, 301.88),
    (16, 300, 310.83, 317.12, 303.40), (17, 450, 456.91, 604.36, 452.84),
    (20, 450, 462.07, 602.40, 454.07), (24, 450, 471.87, 603.25, 454.67),
    (25, 525, 533.15, 603.83, 530.15), (27, 525, 549.07, 603.86, 559.81),
    (31, 563, 574.03, 604.63, 595.17), (32, 600, 603.17, 603.14, 604.64),
    (33, 700, 705.93, 906.31, 707.39), (36, 700, 715.35, 905.27, 708.41),
    (38, 750, 759.90, 905.34, 755.53), (40, 750, 767.67, 905.39, 771.71),
    (43, 833, 833.33, 908.96, 839.61), (47, 883, 901.81, 907.79, 893.65),
    (48, 900, 916.11, 908.51, 907.71),
)
PAPER = {row[0]: dict(opt=row[1], mosix=row[2], pvm=row[3], pvm_mosix=row[4])
         for row in PAPER1}

TOTAL_RE = re.compile(r"^spawn: (\d+) copies in (\d+\.\d+) s\r?$", re.M)
COPY_RE = re.compile(r"^spawn: copy (\d+) pid \S+ exit (\d+) nodes (\S+) (\d+\.\d+) s\r?$",
                     re.M)
SUM_RE = re.compile(r"cpuhog: [\d.]+ s of work, checksum ([0-9a-f]+)")
UPTIME_RE = re.compile(r"(?m)^(\d+\.\d+) (\d+\.\d+)\r?$")
KV_RE = re.compile(r"(?m)^(\w+) (\d+)\r?$")
LBIDLE_RE = re.compile(r"lbidle (\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+\.\d+)")
CAL_RE = re.compile(r"cpuhog: (\d+) iterations/s, speed (\d+)")
SNAP_CMD = "cat /proc/uptime /proc/cluster/link /proc/cluster/balance /proc/cluster/nodes"


# ------------------------------------------------------------- pure helpers
def optimal(speeds, works):
    """lbsim's optimal(): the makespan of a fluid schedule with free,
    instant migration. At every completion the m remaining processes get
    one slot each, the next slot going to the node whose per-process rate
    with it is highest; the longest remaining work runs in the fastest
    slot; time runs to the next completion. speeds: per node (1 = the
    reference); works: per process, seconds on the reference node."""
    rem = sorted(works, reverse=True)
    t = 0.0
    while rem:
        cnt = [0] * len(speeds)
        for _ in rem:
            best = 0
            for i in range(1, len(speeds)):
                if speeds[i] / (cnt[i] + 1) > speeds[best] / (cnt[best] + 1):
                    best = i
            cnt[best] += 1
        slots = sorted((speeds[i] / cnt[i] for i in range(len(speeds)) for _ in range(cnt[i])),
                       reverse=True)
        rem.sort(reverse=True)
        dt = min(r / s for r, s in zip(rem, slots))
        t += dt
        rem = [r - dt * s for r, s in zip(rem, slots)]
        rem = [r for r in rem if r > 1e-9]
    return t


def round_robin(speeds, n, job_s):
    """The makespan of spawn --static's placement without overheads: copy i
    on node i mod nodes, each node time-sharing its copies."""
    k = len(speeds)
    counts = [n // k + (i < n % k) for i in range(k)]
    return max((c * job_s / s for c, s in zip(counts, speeds) if c), default=0.0)


def slow_nodes(nodes):
    """The heterogeneous cluster's slow nodes: the last third (never node 0)."""
    k = round(nodes / 3) if nodes > 1 else 0
    return list(range(nodes - k, nodes))


def speeds_of(nodes, slow):
    """Nominal speeds (1 = icount 5): an icount shift of s is 2^(5-s)."""
    return [2.0 ** (FAST_SHIFT - (SLOW_SHIFT if i in slow else FAST_SHIFT))
            for i in range(nodes)]


def paper_scaled(n, job_s):
    """The paper's Table 1 row for n processes scaled to job_s, or None."""
    row = PAPER.get(n)
    return {k: v * job_s / PAPER_JOB_S for k, v in row.items()} if row else None


def history(text):
    """spawn's "0>3>1" -> [0, 3, 1] (None for '-', not readable)."""
    return [int(x) if x.isdigit() else None for x in text.split(">")]


def parse_spawn(out, n):
    """spawn's output -> {total, copies: [{exit, nodes, secs}]}; BenchError
    when the total is missing, a copy failed or the checksums differ."""
    m = TOTAL_RE.search(out)
    if not m or int(m.group(1)) != n:
        raise BenchError(f"spawn: no 'spawn: {n} copies in T s' line: {tail(out, 5)}")
    copies = [dict(exit=int(c[1]), nodes=history(c[2]), secs=float(c[3]))
              for c in COPY_RE.findall(out)]
    bad = [c for c in copies if c["exit"] != 0]
    if bad or len(copies) != n:
        raise BenchError(f"spawn: {len(copies)} of {n} copy lines, {len(bad)} failed: "
                         f"{tail(out, 5)}")
    sums = set(SUM_RE.findall(out))
    if len(sums) != 1 or len(SUM_RE.findall(out)) != n:
        raise BenchError(f"spawn: {len(SUM_RE.findall(out))} cpuhog lines of {n}, "
                         f"checksums {sorted(sums)}")
    return dict(total=float(m.group(2)), copies=copies)


def run_figures(parsed, slow=()):
    """{value, moves, moved_twice, on_slow} of one spawn run."""
    moves = twice = on_slow = 0
    for c in parsed["copies"]:
        h = c["nodes"]
        moves += len(h) - 1
        twice += len(h) > 2
        on_slow += any(x in slow for x in h)
    return dict(value=parsed["total"], moves=moves, moved_twice=twice, on_slow=on_slow)


def estimate(args):
    """Guest seconds the run should take: per run the optimal + 10% and a
    settling wait (mosix) or the round-robin time (static), the idle
    intervals, and a minute per cluster for booting and linking."""
    def table(points, speeds):
        s = 0.0
        for n in points:
            for pol in args.policies:
                if pol == "mosix":
                    s += 1.1 * optimal(speeds, [args.job_s] * n) + SETTLE_GUESS_S
                else:
                    s += round_robin(speeds, n, args.job_s)
        return s * args.runs
    total = table(args.points, [1.0] * args.nodes) + 60
    if args.idle_s:
        total += 2 * (args.idle_s + 60)
    if args.hetero:
        total += table(args.hetero_points, speeds_of(args.nodes, slow_nodes(args.nodes))) + 60
    return total


def hms(s):
    s = int(round(s))
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else \
        f"{s // 60} min {s % 60:02d} s"


def parse_snapshot(text):
    """SNAP_CMD's output -> {uptime, kv: {counter: n}, rx_unicast}."""
    m = UPTIME_RE.search(text)
    if not m:
        raise BenchError(f"no /proc/uptime line in: {tail(text, 3)}")
    rest = text[m.end():]
    head, _, table = rest.partition("node mac")
    kv = {k: int(v) for k, v in KV_RE.findall(head)}
    rx_unicast = 0
    lines = ("node mac" + table).splitlines()
    cols = lines[0].split() if lines else []
    for ln in lines[1:]:
        f = ln.split()
        if len(f) == len(cols):
            row = dict(zip(cols, f))
            if row.get("state") != "self" and row.get("rx_frames", "").isdigit():
                rx_unicast += int(row["rx_frames"])
    for k in ("tx_frames", "rx_frames", "hellos_sent", "data_sent", "acks_sent", "info_sent",
              "info_received"):
        if k not in kv:
            raise BenchError(f"no {k} in the counters: {tail(text, 3)}")
    return dict(uptime=float(m.group(1)), kv=kv, rx_unicast=rx_unicast)


IDLE_RATES = (("tx", "tx_frames"), ("tx_hello", "hellos_sent"), ("tx_data", "data_sent"),
              ("tx_ack", "acks_sent"), ("rx", "rx_frames"), ("info_tx", "info_sent"),
              ("info_rx", "info_received"))


def idle_figures(a, b, cpu):
    """Per-node idle figures from two snapshots and (u0, i0, u1, i1)."""
    u0, i0, u1, i1 = cpu
    if u1 <= u0 or b["uptime"] <= a["uptime"]:
        raise BenchError(f"uptime did not advance: {cpu}, {a['uptime']} -> {b['uptime']}")
    dt = b["uptime"] - a["uptime"]
    r = dict(interval=u1 - u0, busy_pct=100.0 * (1 - (i1 - i0) / (u1 - u0)))
    for name, key in IDLE_RATES:
        r[name] = (b["kv"][key] - a["kv"][key]) / dt
    r["rx_unicast"] = (b["rx_unicast"] - a["rx_unicast"]) / dt
    r["rx_other"] = r["rx"] - r["rx_unicast"]
    return r


# ------------------------------------------------------------- measuring
def run_on(cl, c0, node, cmd, timeout=30.0):
    """cmd on node's console (node 0's is kept open); BenchError unless status 0."""
    if node == 0:
        out, status = c0.run(cmd, timeout=timeout)
    else:
        with cl.console(node, holder=HOLDER) as con:
            out, status = con.run(cmd, timeout=timeout)
    if status != 0:
        raise BenchError(f"node {node}: {cmd}: status {status}: {tail(out, 3)}")
    return out


def wait_linked(cl, c0, nodes):
    """Until every node sees all the others up; {node: the kernel's speed}."""
    speeds = {}
    for n in range(nodes):
        deadline = time.monotonic() + LINKED_MAX_S
        while True:
            out = run_on(cl, c0, n, "cat /proc/cluster/node/*/status; cat /proc/cluster/balance")
            if out.split().count("up") == nodes - 1:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"node {n} does not see the {nodes - 1} others up within "
                                 f"{LINKED_MAX_S:g} s: {tail(out, 20)}")
            time.sleep(0.5)
        m = re.search(r"(?m)^speed (\d+)", out)
        speeds[n] = int(m.group(1)) if m else None
    return speeds


def set_policy(cl, c0, nodes, policy):
    for n in range(nodes):
        run_on(cl, c0, n, f"echo {policy} > /proc/cluster/policy")


def settle(c0, nodes):
    """Until node 0 knows every node's load and none is above SETTLE_LOAD;
    the seconds waited, or None when it did not happen within SETTLE_MAX_S."""
    t0 = time.monotonic()
    while True:
        out, status = c0.run("cat /proc/cluster/node/*/load")
        loads = [int(w) for w in out.split() if w.isdigit()]
        if status == 0 and len(loads) == nodes and max(loads) <= SETTLE_LOAD:
            return time.monotonic() - t0
        if time.monotonic() - t0 > SETTLE_MAX_S:
            return None
        time.sleep(1.0)  # a poll: each look is a process on node 0


def lost_count(c0):
    """node 0's count of processes it lost (their deputies ended)."""
    out, status = c0.run("cat /proc/cluster/migrations")
    m = re.search(r"(?m)^lost (\d+)", out)
    if status != 0 or not m:
        raise BenchError(f"cat /proc/cluster/migrations: status {status}: {tail(out, 3)}")
    return int(m.group(1))


def recover(c0):
    """After a command timed out: ^C, then the shell must answer."""
    c0.send("\x03")
    try:
        c0.run("true", timeout=120)
    except ConsoleTimeout:
        raise BenchError("node 0's console does not answer after ^C") from None


class Sweep:
    """One table's runs on one cluster."""

    def __init__(self, args, rd, name, cl, c0, speeds, slow, progress):
        self.args, self.rd, self.name = args, rd, name
        self.cl, self.c0, self.speeds, self.slow = cl, c0, speeds, slow
        self.progress = progress
        self.policy = None

    def use(self, policy):
        if policy != self.policy:
            set_policy(self.cl, self.c0, self.args.nodes, policy)
            self.policy = policy

    def one(self, n, policy, run):
        key = (self.name, n, policy)
        opt = optimal(self.speeds, [self.args.job_s] * n)
        timeout = 180 + 6 * round_robin(self.speeds, n, self.args.job_s)
        note = ""
        try:
            self.use(policy)
            if policy == "mosix":
                waited = settle(self.c0, self.args.nodes)
                note = (f", settled {waited:.0f} s" if waited is not None else
                        f", loads not settled after {SETTLE_MAX_S:g} s")
            cmd = f"spawn -n {n}{' --static' if policy == 'static' else ''} " \
                  f"cpuhog {self.args.job_s:g}"
            lost = lost_count(self.c0)
            try:
                out, status = self.c0.run(cmd, timeout=timeout)
            except ConsoleTimeout as e:
                recover(self.c0)
                raise BenchError(str(e).split("\n")[0]) from None
            lost = lost_count(self.c0) - lost
            if lost:
                raise BenchError(f"{cmd}: {lost} copies lost (killed: a node they ran on "
                                 "lost sight of node 0, see docs/performance.md)")
            if status != 0:
                raise BenchError(f"{cmd}: status {status}: {tail(out, 5)}")
            r = run_figures(parse_spawn(out, n), self.slow)
        except (BenchError, ConsoleTimeout) as e:
            self.rd.fail(key, str(e).split("\n")[0])
            self.progress(f"    {self.name} N={n} {policy} run {run + 1}: failed: {e}")
            if isinstance(e, ConsoleTimeout):
                recover(self.c0)  # or BenchError: this cluster is given up
            return
        self.rd.add(key, r)
        extra = f", {r['on_slow']} on slow nodes" if self.slow else ""
        self.progress(f"    {self.name} N={n:>2} {policy:<6} run {run + 1}/{self.args.runs}: "
                      f"{r['value']:7.2f} s (optimal {opt:.2f}, "
                      f"{100 * (r['value'] / opt - 1):+.1f}%), {r['moves']} moves, "
                      f"{r['moved_twice']} moved twice or more{extra}{note}")

    def sweep(self, points, t_start):
        for n in points:
            for policy in self.args.policies:
                for run in range(self.args.runs):
                    self.one(n, policy, run)
            meds = ", ".join(f"{p} {c(self.rd.median((self.name, n, p)))}"
                             for p in self.args.policies)
            self.progress(f"  {self.name} N={n}: {meds}, optimal "
                          f"{optimal(self.speeds, [self.args.job_s] * n):.2f} "
                          f"(wall {hms(time.monotonic() - t_start)} so far)")


@contextlib.contextmanager
def cluster(args, slow, append, progress):
    """A cluster booted directly, icount 5 (7 on the slow nodes), no disks;
    (Cluster, node 0's console); always stopped at the end."""
    cl = Cluster(os.path.join(OUT, CLUSTER_DIR))
    append = " ".join(w for w in (append, args.shoal_append) if w)
    cfg = ClusterConfig(nodes=args.nodes, kernel=os.path.join(args.build, "shoal.elf"),
                        root=os.path.join(args.build, "root.img"), boot="direct", accel="tcg",
                        mem=args.mem, icount_default=FAST_SHIFT,
                        icount_nodes={n: SLOW_SHIFT for n in slow}, disk_mb=0, fresh=True,
                        append=append, timeout=default_timeout(args.nodes))
    progress(f"Shoal: booting {args.nodes} nodes (direct, tcg, {args.mem} MB, icount "
             f"{format_icount(cfg.icount_default, cfg.icount_nodes)}, {append}) ...")
    try:
        cl.up(cfg)
        with cl.console(0, holder=HOLDER) as c0:
            yield cl, c0
    finally:
        cl.down()


def idle_cost(cl, c0, nodes, idle_s, progress):
    """{node: idle figures} over idle_s seconds (see the header)."""
    first, res = {}, {}
    for n in range(nodes):
        first[n] = parse_snapshot(run_on(cl, c0, n, f"{SNAP_CMD}; read LBU0 LBI0 < /proc/uptime"))
    time.sleep(idle_s)  # the measurement interval itself
    for n in range(nodes):
        out = run_on(cl, c0, n, f"read LBU1 LBI1 < /proc/uptime; "
                                f"echo lbidle $LBU0 $LBI0 $LBU1 $LBI1; {SNAP_CMD}")
        m = LBIDLE_RE.search(out)
        if not m:
            raise BenchError(f"node {n}: no lbidle line: {tail(out, 3)}")
        res[n] = idle_figures(first[n], parse_snapshot(out[m.end():]),
                              tuple(float(x) for x in m.groups()))
    mean = statistics.mean(r["busy_pct"] for r in res.values())
    progress(f"  idle over {idle_s:g} s: busy {mean:.3f}% of a node on average, "
             f"{statistics.mean(r['tx'] for r in res.values()):.2f} frames/s sent, "
             f"{statistics.mean(r['rx'] for r in res.values()):.2f} received")
    return res


def sweep_append(args):
    """The sweeps' boot options: the policy is set at run time."""
    return "lb=off" + (f" hello_ms={args.hello_ms}" if args.hello_ms else "")


def run_idle(args, idle, name, progress):
    """The idle cost on a cluster of its own, booted with IDLE_APPEND[name]
    and the Linker's default hello period."""
    with cluster(args, [], IDLE_APPEND[name], progress) as (cl, c0):
        wait_linked(cl, c0, args.nodes)
        if name == "mosix":
            settle(c0, args.nodes)  # every node's window filled
        progress(f"  idle cost, {IDLE_APPEND[name]}, {args.idle_s:g} s ...")
        idle[name] = idle_cost(cl, c0, args.nodes, args.idle_s, progress)


def run_equal(args, rd, info, progress, t_start):
    with cluster(args, [], sweep_append(args), progress) as (cl, c0):
        info["equal_speeds"] = wait_linked(cl, c0, args.nodes)
        progress(f"  kernel speeds: {speed_text(info['equal_speeds'], [])}")
        sw = Sweep(args, rd, "equal", cl, c0, [1.0] * args.nodes, (), progress)
        sw.sweep(args.points, t_start)


def run_hetero(args, rd, info, progress, t_start):
    slow = slow_nodes(args.nodes)
    with cluster(args, slow, sweep_append(args), progress) as (cl, c0):
        info["hetero_speeds"] = wait_linked(cl, c0, args.nodes)
        progress(f"  kernel speeds: {speed_text(info['hetero_speeds'], slow)}")
        cal = {}
        for n in (0, slow[0]):
            out = run_on(cl, c0, n, "cpuhog --calibrate", timeout=120)
            m = CAL_RE.search(out)
            cal[n] = int(m.group(2)) if m else None
        info["calibrated"] = cal
        progress("  cpuhog --calibrate: " + ", ".join(f"node {n} speed {s}"
                                                       for n, s in cal.items()))
        sw = Sweep(args, rd, "hetero", cl, c0, speeds_of(args.nodes, slow), set(slow), progress)
        sw.sweep(args.hetero_points, t_start)


# ------------------------------------------------------------- results
def c(v, digits=2):
    return "-" if v is None else f"{v:,.{digits}f}"


def num(v):
    return "" if v is None else f"{v:g}"


def pct(v, ref):
    return "-" if v is None or not ref else f"{100 * (v / ref - 1):+.1f}"


def speed_text(speeds, slow):
    def span(vals):
        vals = [v for v in vals if v is not None]
        return "?" if not vals else f"{min(vals)}" if min(vals) == max(vals) else \
            f"{min(vals)}-{max(vals)}"
    fast = [s for n, s in speeds.items() if n not in slow]
    text = f"icount {FAST_SHIFT} nodes {span(fast)}"
    if slow:
        text += (f", icount {SLOW_SHIFT} nodes {span([speeds.get(n) for n in slow])} "
                 f"(nominal {int(1000 * 2 ** (FAST_SHIFT - SLOW_SHIFT))})")
    return text


def averages(rd, table, points, speeds, job_s, policy):
    """Mean slowdown vs optimal in % over the points measured, or None."""
    v = [rd.median((table, n, policy)) / optimal(speeds, [job_s] * n) - 1
         for n in points if rd.median((table, n, policy)) is not None]
    return 100 * statistics.mean(v) if v else None


def print_equal(rd, args):
    eq = [1.0] * args.nodes
    k = args.job_s / PAPER_JOB_S
    print(f"\nTable 1 on Shoal: {args.nodes} nodes under --icount {FAST_SHIFT}, N × cpuhog "
          f"{args.job_s:g} started on node 0; seconds, median of {args.runs}; the paper's "
          f"columns (16 Pentium-90s, 300 s jobs) × {k:g}:\n")
    print("| N | optimal | Shoal mosix | vs opt % | moves | moved ≥ 2× | Shoal static | "
          "vs opt % | paper optimal | paper MOSIX | vs opt % | paper PVM | vs opt % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.points:
        opt = optimal(eq, [args.job_s] * n)
        mo, st = rd.median(("equal", n, "mosix")), rd.median(("equal", n, "static"))
        p = paper_scaled(n, args.job_s) if args.nodes == 16 else None
        pc = ("| - | - | - | - | - |" if not p else
              f"| {c(p['opt'])} | {c(p['mosix'])} | {pct(p['mosix'], p['opt'])} | "
              f"{c(p['pvm'])} | {pct(p['pvm'], p['opt'])} |")
        print(f"| {n} | {c(opt)} | {c(mo)} | {pct(mo, opt)} | "
              f"{c(rd.median(('equal', n, 'mosix'), 'moves'), 0)} | "
              f"{c(rd.median(('equal', n, 'mosix'), 'moved_twice'), 0)} | {c(st)} | "
              f"{pct(st, opt)} " + pc)
    for pol in args.policies:
        a = averages(rd, "equal", args.points, eq, args.job_s, pol)
        print(f"average slowdown vs optimal, Shoal {pol}: "
              + ("-" if a is None else f"{a:.2f}%"))
    if args.nodes == 16:
        rows = [PAPER[n] for n in args.points if n in PAPER]
        if rows:
            print("the paper, same rows: MOSIX "
                  f"{100 * statistics.mean(r['mosix'] / r['opt'] - 1 for r in rows):.2f}%, "
                  f"PVM {100 * statistics.mean(r['pvm'] / r['opt'] - 1 for r in rows):.2f}% "
                  "(against its own optimal column)")


def print_hetero(rd, args, info):
    slow = slow_nodes(args.nodes)
    speeds = speeds_of(args.nodes, slow)
    which = f"node {slow[0]}" if len(slow) == 1 else f"nodes {slow[0]}-{slow[-1]}"
    print(f"\nHeterogeneous: {args.nodes} nodes, {len(slow)} of them ({which}) under --icount "
          f"{SLOW_SHIFT} (4× slower); N × cpuhog {args.job_s:g} from node 0; median of "
          f"{args.runs}:\n")
    if info.get("hetero_speeds"):
        print(f"kernel speeds: {speed_text(info['hetero_speeds'], slow)}; cpuhog --calibrate: "
              + ", ".join(f"node {n} {s}" for n, s in info.get("calibrated", {}).items()) + "\n")
    print("| N | optimal | round robin, no overheads | Shoal mosix | vs opt % | moves | "
          "copies on slow nodes | Shoal static | vs opt % | static ÷ mosix − 1, % |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.hetero_points:
        opt = optimal(speeds, [args.job_s] * n)
        mo, st = rd.median(("hetero", n, "mosix")), rd.median(("hetero", n, "static"))
        print(f"| {n} | {c(opt)} | {c(round_robin(speeds, n, args.job_s))} | {c(mo)} | "
              f"{pct(mo, opt)} | {c(rd.median(('hetero', n, 'mosix'), 'moves'), 0)} | "
              f"{c(rd.median(('hetero', n, 'mosix'), 'on_slow'), 0)} | {c(st)} | "
              f"{pct(st, opt)} | {pct(st, mo)} |")
    for pol in args.policies:
        a = averages(rd, "hetero", args.hetero_points, speeds, args.job_s, pol)
        print(f"average vs optimal, Shoal {pol}: " + ("-" if a is None else f"{a:.2f}%"))


IDLE_COLS = (("busy_pct", "busy %", 3), ("tx", "sent/s", 2), ("tx_hello", "hellos", 2),
             ("tx_data", "data", 2), ("tx_ack", "acks", 2), ("rx", "received/s", 2),
             ("rx_unicast", "unicast", 2), ("rx_other", "hellos, other", 2),
             ("info_tx", "LB_INFO sent/s", 2), ("info_rx", "LB_INFO received/s", 2))
IDLE_NAMES = {"mosix": "lb=mosix: load sent every 1 s",
              "quiet": f"{IDLE_APPEND['quiet']}: the balancer almost silent"}


def print_idle(idle, args):
    if not idle:
        return
    print(f"\nIdle cost per node over {args.idle_s:g} s of guest time ({args.nodes} nodes "
          f"under --icount {FAST_SHIFT}; frames are the Linker's):\n")
    print("| cluster | node | " + " | ".join(h for _, h, _ in IDLE_COLS) + " |")
    print("|---|---|" + "---|" * len(IDLE_COLS))
    for name in ("mosix", "quiet"):
        res = idle.get(name)
        if not res:
            continue
        rows = [(str(n), r) for n, r in sorted(res.items())] if name == "mosix" else []
        rows.append(("mean", {k: statistics.mean(r[k] for r in res.values())
                              for k, _, _ in IDLE_COLS}))
        for label, r in rows:
            print(f"| {name} | {label} | " + " | ".join(c(r[k], d) for k, _, d in IDLE_COLS)
                  + " |")
    if "mosix" in idle and "quiet" in idle:
        diff = statistics.mean(r["busy_pct"] for r in idle["mosix"].values()) - \
            statistics.mean(r["busy_pct"] for r in idle["quiet"].values())
        print(f"\nthe balancer's dissemination and decisions (mosix − quiet, mean of the "
              f"nodes): {diff:+.3f}% of a node's CPU = {10 * diff:+.2f} ms a second; "
              f"/proc/uptime counts centiseconds: ±{100 * 0.01 / args.idle_s:.3f}% per node")
        for name in ("mosix", "quiet"):
            print(f"  {name}: {IDLE_NAMES[name]}")


def write_csv(rd, args, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["table", "processes", "policy", "median_s", "runs_s", "optimal_s",
                    "vs_optimal_pct", "moves", "moved_twice", "on_slow_nodes",
                    "paper_opt_scaled_s", "paper_mosix_scaled_s", "paper_pvm_scaled_s",
                    "failures"])
        for table, points, slow in (("equal", args.points, []),
                                    ("hetero", args.hetero_points, slow_nodes(args.nodes))):
            speeds = speeds_of(args.nodes, slow)
            for n in points:
                for pol in args.policies:
                    key = (table, n, pol)
                    if key not in rd.runs and key not in rd.failed:
                        continue
                    opt = optimal(speeds, [args.job_s] * n)
                    med = rd.median(key)
                    p = paper_scaled(n, args.job_s) if table == "equal" and \
                        args.nodes == 16 else None
                    w.writerow([table, n, pol, "" if med is None else f"{med:.2f}",
                                " ".join(f"{v:.2f}" for v in rd.values(key)), f"{opt:.3f}",
                                "" if med is None else f"{100 * (med / opt - 1):.2f}",
                                num(rd.median(key, "moves")), num(rd.median(key, "moved_twice")),
                                num(rd.median(key, "on_slow")) if slow else "",
                                f"{p['opt']:.2f}" if p else "",
                                f"{p['mosix']:.2f}" if p else "",
                                f"{p['pvm']:.2f}" if p else "",
                                "; ".join(rd.failed.get(key, []))])
    print(f"csv: {os.path.relpath(path, ROOT)}")


def write_idle_csv(idle, path):
    if not idle:
        return
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        keys = ["interval"] + [k for k, _, _ in IDLE_COLS]
        w.writerow(["cluster", "node", "interval_s", "busy_pct", "tx_frames_s", "tx_hellos_s",
                    "tx_data_s", "tx_acks_s", "rx_frames_s", "rx_unicast_s", "rx_other_s",
                    "lb_info_sent_s", "lb_info_received_s"])
        for name, res in idle.items():
            for n, r in sorted(res.items()):
                w.writerow([name, n] + [f"{r[k]:.4f}" for k in keys])
    print(f"csv: {os.path.relpath(path, ROOT)}")


def plot(rd, idle, args, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    a1, a2, a3 = axes
    eq = [1.0] * args.nodes
    xs = list(args.points)
    a1.plot(xs, [optimal(eq, [args.job_s] * n) for n in xs], "k-", label="optimal (formula)")
    for pol, style in (("mosix", "o-"), ("static", "s-")):
        pts = [(n, rd.median(("equal", n, pol))) for n in xs]
        pts = [(n, v) for n, v in pts if v is not None]
        if pts:
            a1.plot([n for n, _ in pts], [v for _, v in pts], style, label=f"Shoal {pol}")
    if args.nodes == 16:
        pts = [(n, paper_scaled(n, args.job_s)) for n in xs if n in PAPER]
        a1.plot([n for n, _ in pts], [p["mosix"] for _, p in pts], "--", color="tab:gray",
                label="paper MOSIX (scaled)")
        a1.plot([n for n, _ in pts], [p["pvm"] for _, p in pts], ":", color="tab:gray",
                label="paper PVM (scaled)")
    a1.set_xlabel("processes", fontsize="small")
    a1.set_ylabel("seconds until the last ends (lower is better)", fontsize="small")
    a1.set_title(f"Table 1: {args.nodes} equal nodes, cpuhog {args.job_s:g}", fontsize="small")
    a1.legend(fontsize="x-small")

    slow = slow_nodes(args.nodes)
    speeds = speeds_of(args.nodes, slow)
    xs = list(args.hetero_points)
    a2.plot(xs, [optimal(speeds, [args.job_s] * n) for n in xs], "k-", label="optimal (formula)")
    a2.plot(xs, [round_robin(speeds, n, args.job_s) for n in xs], ":", color="tab:gray",
            label="round robin, no overheads")
    for pol, style in (("mosix", "o-"), ("static", "s-")):
        pts = [(n, rd.median(("hetero", n, pol))) for n in xs]
        pts = [(n, v) for n, v in pts if v is not None]
        if pts:
            a2.plot([n for n, _ in pts], [v for _, v in pts], style, label=f"Shoal {pol}")
    a2.set_xticks(xs)
    a2.set_xlabel("processes", fontsize="small")
    a2.set_title(f"Heterogeneous: {len(slow)} of {args.nodes} nodes 4× slower",
                 fontsize="small")
    a2.legend(fontsize="x-small")

    for j, (name, col) in enumerate((("mosix", "tab:blue"), ("quiet", "tab:cyan"))):
        res = idle.get(name)
        if not res:
            continue
        nodes = sorted(res)
        bars = a3.bar([n + 0.4 * j for n in nodes], [res[n]["busy_pct"] for n in nodes],
                      width=0.4, color=col, label=IDLE_NAMES[name])
        a3.bar_label(bars, labels=[f"{res[n]['busy_pct']:.2f}" for n in nodes],
                     fontsize="xx-small")
    if idle:
        nodes = sorted(next(iter(idle.values())))
        a3.set_xticks([n + 0.2 for n in nodes])
        a3.set_xticklabels([str(n) for n in nodes], fontsize="small")
        a3.margins(y=0.25)
        a3.set_xlabel("node", fontsize="small")
        a3.set_ylabel("% of the node's CPU, idle cluster", fontsize="small")
        fr = idle.get("mosix") or next(iter(idle.values()))
        a3.set_title(f"Idle cost: Linker frames/s per node sent "
                     f"{statistics.mean(r['tx'] for r in fr.values()):.1f}, received "
                     f"{statistics.mean(r['rx'] for r in fr.values()):.1f}", fontsize="small")
        a3.legend(fontsize="x-small", loc="upper left")
    fig.suptitle(f"Load balancing on Shoal: TCG under --icount, guest time, medians of "
                 f"{args.runs}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def counts(text, what, lo=1, hi=4096):
    try:
        v = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of {what}: {text!r}")
    if not v or not all(lo <= x <= hi for x in v):
        raise argparse.ArgumentTypeError(f"{what}: {lo}..{hi} each")
    return v


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].split(" — ", 1)[1],
        epilog="Details: the header of this file and docs/performance.md, \"Load balancing\".")
    ap.add_argument("--quick", action="store_true",
                    help="4 nodes, 5 s jobs, points 1,4,8, heterogeneous 4,8, 1 run, idle 5 s")
    ap.add_argument("--nodes", type=int, help="nodes per cluster (default 16)")
    ap.add_argument("--job-s", type=float, help="each cpuhog's seconds of work (default 30)")
    ap.add_argument("--points", type=lambda t: counts(t, "processes"),
                    help="numbers of processes (default the paper's 19 rows, 1..48)")
    ap.add_argument("--runs", type=int, help="runs per point and policy (default 3)")
    ap.add_argument("--policies", type=lambda t: t.split(","), default=list(POLICIES),
                    help="mosix, static or both (default mosix,static)")
    ap.add_argument("--hetero-points", type=lambda t: counts(t, "processes"),
                    help="the heterogeneous cluster's points (default 8,16,24,32)")
    ap.add_argument("--hetero", action=argparse.BooleanOptionalAction, default=True,
                    help="run the heterogeneous cluster too (default yes)")
    ap.add_argument("--idle-s", type=float,
                    help="seconds of the idle cost measurement; 0 skips it (default 30)")
    ap.add_argument("--hello-ms", type=int, default=HELLO_MS,
                    help=f"the Linker's hello period on the sweeps' clusters (default "
                         f"{HELLO_MS}; 0: the kernel's own, 500)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the make output directory: shoal.elf, root.img")
    ap.add_argument("--mem", type=int, default=256, help="memory per node in MB (default 256)")
    ap.add_argument("--shoal-append", default="",
                    help="more boot options for every node (default none)")
    args = ap.parse_args()
    q = args.quick
    for key, full, quick in (("nodes", 16, 4), ("job_s", 30.0, 5.0), ("points", list(POINTS),
                             [1, 4, 8]), ("runs", 3, 1), ("hetero_points", list(HETERO_POINTS),
                             [4, 8]), ("idle_s", 30.0, 5.0)):
        if getattr(args, key) is None:
            setattr(args, key, quick if q else full)
    if not 2 <= args.nodes <= 64:
        sys.exit("lb.py: --nodes: 2..64")
    if not 0.1 <= args.job_s <= 3600 or args.runs < 1 or args.idle_s < 0:
        sys.exit("lb.py: --job-s 0.1..3600, --runs at least 1, --idle-s at least 0")
    if args.hello_ms and not 50 <= args.hello_ms <= 60000:
        sys.exit("lb.py: --hello-ms: 50..60000, or 0")
    if not args.policies or any(p not in POLICIES for p in args.policies):
        sys.exit(f"lb.py: --policies: {', '.join(POLICIES)}, comma-separated")
    os.makedirs(OUT, exist_ok=True)

    def progress(msg):
        print(msg, flush=True)

    t_start = time.monotonic()
    progress(f"lb.py: {linkbench.describe_tree()}, host load {os.getloadavg()[0]:.2f}; "
             f"{args.nodes} nodes, cpuhog {args.job_s:g}, {args.runs} run(s) a point; "
             f"estimated {hms(estimate(args))} of guest time")
    rd, idle, info, problems = linkbench.Rounds(), {}, {}, []
    parts = []
    if args.idle_s:
        for name in ("mosix", "quiet"):
            parts.append((f"idle cluster ({name})",
                          lambda name=name: run_idle(args, idle, name, progress)))
    parts.append(("equal cluster", lambda: run_equal(args, rd, info, progress, t_start)))
    if args.hetero:
        parts.append(("heterogeneous cluster",
                      lambda: run_hetero(args, rd, info, progress, t_start)))
    for name, fn in parts:
        try:
            fn()
        except (ShoalError, subprocess.SubprocessError, OSError) as e:
            problems.append(f"{name}: {e}")
            progress(f"  {name} failed: {tail(str(e), 15)}")
        except KeyboardInterrupt:
            problems.append(f"{name}: interrupted")
            progress("  interrupted: the tables below hold what was measured")
            break
    for key, reasons in sorted(rd.failed.items(), key=str):
        problems += [f"{' '.join(map(str, key))}: {r}" for r in reasons]

    print_equal(rd, args)
    if args.hetero:
        print_hetero(rd, args, info)
    print_idle(idle, args)
    print(f"\nwall time {hms(time.monotonic() - t_start)}")
    write_csv(rd, args, os.path.join(OUT, "lb.csv"))
    write_idle_csv(idle, os.path.join(OUT, "lb-idle.csv"))
    plot(rd, idle, args, os.path.join(OUT, "lb.png"))
    for msg in problems:
        print(f"lb.py: {tail(msg, 15)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
