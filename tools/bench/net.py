#!/usr/bin/python3
"""tools/bench/net.py — network figures, Shoal vs Linux (make bench-net).

Between two machines on one VDE switch, node0 -> node1 over NIC1
(virtio-net), with user/tests/netx.c (/bin/tests/netx) at both ends:

  tcp_bw   TCP throughput: `netx send` of --tcp-mib MiB to `netx recv`,
           --runs times (seeds 1, 3, 5...); the receiver's MiB/s (accept to
           EOF, 2^20 bytes), median; the data's FNV-1a must match at both ends
  tcp_rr   TCP round trip: `netx tcprr` (TCP_NODELAY) of --rr round trips
           of 64 bytes to `netx rrserver`; the median per round trip
  udp_rr   UDP round trip: `netx udpping` of --rr datagrams of 64 bytes to
           `netx udpecho`; the median per round trip
  raw_*    Shoal only, the NIC layer without TCP/IP: node0's kernel sends
           --frames broadcast test frames of 1514 and of 60 bytes (64 on
           the wire) through `cat /proc/net/tx/eth1:N:SIZE/test` (opening
           it sends them, net/netdev.c); frames/s and MiB/s sent are the
           kernel's own figures over its send loop; received = the growth
           of node1's test_rx (/proc/net/nics, once it stops moving) over
           that same sender's time

Where:

  Shoal   a 2-node cluster booted directly (tools/lib/shoal, as
          `tools/cluster up -n 2 --boot direct`, no disks) from BUILD's
          shoal.elf and root.img; eth1 is 10.10.0.N
  Linux   two guests of Debian's kernel (linux-image-amd64, /boot/vmlinuz-*)
          on the very QEMU command line of those nodes (shoal.qemu.node_argv:
          machine, CPU, memory, e1000 on the user network, virtio-net on a
          VDE switch, COM1 a socket with a log file) with -kernel, -initrd
          and -append swapped. The switch is a vde_switch this script starts
          in a temporary directory and stops by its PID. The initramfs holds
          Debian's busybox-static, netx at the path it has on Shoal, and the
          virtio modules of the installed kernel; /init loads them, gives
          the virtio-net NIC (found by its MAC) 10.10.0.2 (client) or
          10.10.0.1 (server) /16, prints "linux-guest: ready" and runs each
          line typed on the console (read and eval), so both systems are
          driven the same way (shoal.console.Console). Logs:
          build/bench/net-linux/nodeN.log

Servers start in the background (`netx ... &`), print "listening on port
P pid N" (the port is the system's choice) and their result line; every
wait is for console output with a timeout, and a server that does not
finish is killed by its PID. Prints a table (ratio: Shoal's time over
Linux's, for throughput Linux's MiB/s over Shoal's, so < 1 means Shoal is
faster), writes build/bench/net.csv and build/bench/net.png. A benchmark,
not a test: the exit status is 1 only when something could not be measured.

  tools/bench/net.py [--quick] [--accel tcg|kvm] [--runs 5] [--tcp-mib 16]
                     [--rr 2000] [--frames 20000] [--no-shoal] [--no-linux]
                     [--build build] [--kernel VMLINUZ] [--mem 256]
                     [--shoal-append OPTS]
"""
import argparse
import contextlib
import csv
import lzma
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shoal import ShoalError  # noqa: E402
from shoal import qemu  # noqa: E402
from shoal.cluster import Cluster  # noqa: E402
from shoal.config import ClusterConfig  # noqa: E402
from shoal.console import Console, ConsoleTimeout, tail  # noqa: E402
from shoal.layout import Layout  # noqa: E402
import linux_guest  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")
NETX = "/bin/tests/netx"
LISTEN_RE = re.compile(r"listening on port (\d+) pid (\d+)\r?\n")
KV_RE = r"((?: \w+=\S+)+)\r?\n"  # a whole line: wait_for may see half of one
RR_SIZE = 64
RAW_SIZES = (1500, 46)  # bytes after the Ethernet header: 1514- and 60-byte frames
SHOAL_IP = {0: "10.10.0.0", 1: "10.10.0.1"}
LINUX_IP = {0: "10.10.0.2", 1: "10.10.0.1"}
LINUX_MODULES = ("virtio_pci", "virtio_net")
READY = "linux-guest: ready"

TARGETS = (("shoal", "Shoal"), ("linux", "Linux guests"))


def tests(args):
    """(name, unit, label, higher_is_better) in table order."""
    t = [("tcp_bw", "MiB/s", f"TCP throughput, {args.tcp_mib} MiB (median of {args.runs})", True),
         ("tcp_rr", "µs", f"TCP round trip, {RR_SIZE} B (median of {args.rr})", False),
         ("udp_rr", "µs", f"UDP round trip, {RR_SIZE} B (median of {args.rr})", False)]
    for size in RAW_SIZES:
        n = size + 14
        t += [(f"raw_tx_{n}", "frames/s", f"raw frames sent, {n} B ({args.frames})", True),
              (f"raw_rx_{n}", "frames/s", f"raw frames received, {n} B", True)]
    return t


class BenchError(ShoalError):
    """One measurement could not be made."""


def kv(text):
    return dict(w.partition("=")[::2] for w in text.split())


# ---------------------------------------------------------------- netx
def start_server(con, args):
    """`netx ARGS &` on con; (port, pid) once it listens."""
    con.drain()
    con.send(f"\x15{NETX} {args} &\r")
    m = con.wait_for(LISTEN_RE, timeout=30)
    return int(m.group(1)), int(m.group(2))


def server_result(con, regex, pid, timeout):
    """The server's result line; a server that does not finish is killed."""
    try:
        return con.wait_for(regex, timeout=timeout)
    except ConsoleTimeout as e:
        con.run(f"kill {pid}", timeout=30)
        raise BenchError(f"the server did not finish: {e}") from None


def client(cli, args, timeout, srv=None, pid=None):
    """`netx ARGS` on cli, its output; on a failure the server pid on srv
    (if given) is killed."""
    try:
        out, status = cli.run(f"{NETX} {args}", timeout=timeout)
        if status != 0:
            raise BenchError(f"netx {args}: status {status}:\n{tail(out, 10)}")
    except (BenchError, ConsoleTimeout):
        if srv:
            srv.run(f"kill {pid}", timeout=30)
        raise
    return out


def tcp_bw(cli, srv, ip, args, progress):
    nbytes = args.tcp_mib << 20
    rates, sends = [], []
    for run in range(args.runs):
        port, pid = start_server(srv, "recv 0")
        # netx makes the seed odd: 1, 3, 5... give distinct streams
        out = client(cli, f"send {ip} {port} {nbytes} {2 * run + 1}", args.timeout, srv, pid)
        sent = re.search(r"send: (\d+) bytes fnv ([0-9a-f]{8})", out)
        line = re.search(r"netx: tcp_send" + KV_RE, out)
        got = server_result(srv, r"recv: (\d+) bytes fnv ([0-9a-f]{8}) ", pid, 60)
        rline = server_result(srv, r"netx: tcp_recv" + KV_RE, pid, 30)
        if not sent or not line or sent.groups() != got.groups() or int(got.group(1)) != nbytes:
            raise BenchError(f"TCP transfer: sender {sent and sent.group(0)!r}, receiver "
                             f"{got.group(0)!r}: not the same data")
        r = kv(rline.group(1))
        rates.append(float(r["mib_per_s"]))
        sends.append(float(kv(line.group(1))["mib_per_s"]))
        progress(f"    run {run + 1}: {int(r['bytes']) / 2**20:g} MiB in "
                 f"{int(r['ns']) / 1e9:.2f} s, receiver {rates[-1]:.3f} MiB/s, "
                 f"sender {sends[-1]:.3f} MiB/s, fnv {got.group(2)} at both ends")
    return {"value": statistics.median(rates), "runs": rates,
            "detail": f"sender median {statistics.median(sends):.3f} MiB/s"}


def rr_result(out, mode):
    m = re.search(r"netx: " + mode + KV_RE, out)
    if not m:
        raise BenchError(f"no 'netx: {mode}' line in:\n{tail(out, 10)}")
    r = kv(m.group(1))
    if int(r["ok"]) != int(r["n"]):
        raise BenchError(f"{mode}: only {r['ok']} of {r['n']} round trips came back")
    return {"value": float(r["median_us"]), "runs": [],
            "detail": f"min {r['min_us']} p90 {r['p90_us']} max {r['max_us']} "
                      f"avg {r['avg_us']} µs"}


def tcp_rr(cli, srv, ip, args, progress):
    port, pid = start_server(srv, "rrserver 0")
    out = client(cli, f"tcprr {ip} {port} {args.rr} {RR_SIZE}", args.timeout, srv, pid)
    server_result(srv, r"rrserver: echoed (\d+) bytes", pid, 30)
    return rr_result(out, "tcprr")


def udp_rr(cli, srv, ip, args, progress):
    port, pid = start_server(srv, f"udpecho 0 {args.rr}")
    out = client(cli, f"udpping {ip} {port} {args.rr} {RR_SIZE}", args.timeout, srv, pid)
    server_result(srv, r"udpecho: echoed (\d+)\r?\n", pid, 30)
    return rr_result(out, "udpping")


def measure(cli, srv, ip, args, progress, res):
    """The socket tests between two consoles into res (test -> result)."""
    for name, fn in (("tcp_bw", tcp_bw), ("tcp_rr", tcp_rr), ("udp_rr", udp_rr)):
        progress(f"  {name} ...")
        t0 = time.monotonic()
        try:
            res[name] = dict(fn(cli, srv, ip, args, progress), status="ok")
            progress(f"  {name}: {res[name]['value']:.3f} ({res[name]['detail']}), "
                     f"{time.monotonic() - t0:.1f} s")
        except (BenchError, ConsoleTimeout) as e:
            res[name] = {"status": "failed", "reason": str(e).split("\n")[0]}
            progress(f"  {name} failed: {e}")


# ---------------------------------------------------------------- Shoal
def test_rx(con):
    """node's eth1 test_rx counter from /proc/net/nics."""
    out, status = con.run("cat /proc/net/nics")
    m = re.search(r"^eth1: .*\n(?:  .*\n)*?  test_rx (\d+)", out, re.M)
    if status or not m:
        raise BenchError(f"no eth1 test_rx in /proc/net/nics:\n{tail(out, 10)}")
    return int(m.group(1))


def raw_frames(c0, c1, args, progress, res):
    for size in RAW_SIZES:
        n = size + 14
        try:
            before = test_rx(c1)
            out, status = c0.run(f"cat /proc/net/tx/eth1:{args.frames}:{size}/test",
                                 timeout=args.timeout)
            m = re.match(r"eth1: sent (\d+) of (\d+) test frames \(seq \d+\.\.\d+\) in (\d+) us "
                         r"\(xmit (\d+) us\), (\d+) frames/s, ([\d.]+) MiB/s of (\d+)-byte frames",
                         out)
            if status or not m or int(m.group(7)) != n:
                raise BenchError(f"eth1:{args.frames}:{size}/test: {out.strip()!r}")
            sent, us, xmit_us = int(m.group(1)), int(m.group(3)), int(m.group(4))
            # The receiver drains its ring after the sender is done: wait
            # until its count stops moving.
            last, deadline = -1, time.monotonic() + 60
            while True:
                now = test_rx(c1)
                if now == last or now - before >= sent or time.monotonic() > deadline:
                    break
                last = now
            got = now - before
        except (BenchError, ConsoleTimeout) as e:
            for d in ("tx", "rx"):
                res[f"raw_{d}_{n}"] = {"status": "failed", "reason": str(e).split("\n")[0]}
            progress(f"  raw frames of {n} B failed: {e}")
            continue
        secs = us / 1e6
        res[f"raw_tx_{n}"] = {
            "status": "ok", "value": float(m.group(5)), "runs": [],
            "mib_s": float(m.group(6)),
            "detail": f"{sent} of {args.frames} in {us} us ({xmit_us} us in netdev_xmit), "
                      f"{float(m.group(6)):.2f} MiB/s"}
        res[f"raw_rx_{n}"] = {
            "status": "ok", "value": got / secs, "runs": [], "mib_s": got * n / secs / 2**20,
            "detail": f"{got} of {sent} ({100.0 * got / max(sent, 1):.1f}%) over the sender's "
                      f"{us} us, {got * n / secs / 2**20:.2f} MiB/s"}
        progress(f"  raw {n} B: sent {sent} in {us} us ({m.group(5)} frames/s, "
                 f"{m.group(6)} MiB/s; {xmit_us} us in netdev_xmit), received {got}")


@contextlib.contextmanager
def shoal_pair(args, name, progress):
    """Boot a 2-node Shoal cluster directly (build/bench/<name>) and lend
    both consoles: (c0, c1). The cluster goes down on the way out."""
    kernel = os.path.join(args.build, "shoal.elf")
    root = os.path.join(args.build, "root.img")
    cl = Cluster(os.path.join(OUT, name))
    cfg = ClusterConfig(nodes=2, kernel=kernel, root=root, boot="direct", accel=args.accel,
                        mem=args.mem, disk_mb=0, append=args.shoal_append)
    progress(f"Shoal: booting 2 nodes (direct, {args.accel}, {args.mem} MB"
             + (f", {args.shoal_append}" if args.shoal_append else "") + ") ...")
    holder = f"bench/{name}"
    try:
        cl.up(cfg)
        with cl.console(0, holder=holder) as c0, cl.console(1, holder=holder) as c1:
            yield c0, c1
    finally:
        cl.down()


def run_shoal(args, progress):
    res = {}
    with shoal_pair(args, "c-net", progress) as (c0, c1):
        measure(c0, c1, SHOAL_IP[1], args, progress, res)
        raw_frames(c0, c1, args, progress, res)
    return res


# ---------------------------------------------------------------- Linux
INIT = """#!/bin/busybox sh
# /init of the network benchmark's Linux guests (written by tools/bench/net.py)
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec </dev/console >/dev/console 2>&1
dmesg -n 1
for m in $(cat /lib/modules/load); do
    insmod /lib/modules/$m || echo "linux-guest: insmod $m failed"
done
# The virtio-net NIC by its MAC (the e1000's driver is not loaded), bounded.
ifname=
for try in $(seq 50); do
    for d in /sys/class/net/*; do
        [ "$(cat $d/address)" = "$netbench_mac" ] && ifname=${d##*/}
    done
    [ -n "$ifname" ] && break
    sleep 0.1
done
[ -n "$ifname" ] || { echo "linux-guest: no NIC with MAC $netbench_mac"; poweroff -f; }
ip link set lo up
ip link set "$ifname" up
ip addr add "$netbench_ip/16" dev "$ifname"
echo "linux-guest: $(uname -sr), $(grep -c ^processor /proc/cpuinfo) cpu," \\
    "$ifname $netbench_ip/16 mtu $(cat /sys/class/net/$ifname/mtu)," \\
    "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "linux-guest: ready"
# One line at a time, run as soon as it is read (sh reading a pipe would
# look ahead to the next line before running this one).
while IFS= read -r line; do eval "$line"; done </dev/console
poweroff -f
"""


def module_files(release, names):
    """Paths (relative to /lib/modules/RELEASE) of names' modules and their
    dependencies, in load order (modules.dep)."""
    base = os.path.join("/lib/modules", release)
    try:
        with open(os.path.join(base, "modules.dep")) as f:
            deps = {}
            for line in f:
                mod, _, rest = line.partition(":")
                deps[mod] = rest.split()
    except FileNotFoundError:
        raise BenchError(f"{base}/modules.dep not found (the kernel's modules: "
                         f"linux-image-{release})") from None
    by_name = {re.sub(r"\.ko(\.\w+)?$", "", os.path.basename(m)).replace("-", "_"): m
               for m in deps}
    order = []

    def visit(mod):
        if mod in order:
            return
        for d in reversed(deps.get(mod, [])):  # modules.dep lists the last to load first
            visit(d)
        order.append(mod)
    for n in names:
        if n not in by_name:
            raise BenchError(f"module {n} not in {base}/modules.dep")
        visit(by_name[n])
    return base, order


def build_linux_initramfs(kernel, netx, busybox="/bin/busybox"):
    for what, path in (("netx", netx), ("busybox", busybox)):
        if not os.path.isfile(path):
            raise BenchError(f"{what} {path} not found")
    release = re.sub(r"^vmlinuz-", "", os.path.basename(kernel))
    base, mods = module_files(release, LINUX_MODULES)
    stage = os.path.join(OUT, "net-initramfs")
    shutil.rmtree(stage, ignore_errors=True)
    for d in ("dev", "proc", "sys", "bin/tests", "lib/modules"):
        os.makedirs(os.path.join(stage, d))
    shutil.copy(busybox, os.path.join(stage, "bin", "busybox"))
    shutil.copy(netx, os.path.join(stage, NETX.lstrip("/")))
    names = []
    for m in mods:
        src, name = os.path.join(base, m), os.path.basename(m)
        if name.endswith(".ko.xz"):
            name = name[:-3]
            with lzma.open(src) as f, open(os.path.join(stage, "lib/modules", name), "wb") as o:
                o.write(f.read())
        elif name.endswith(".ko"):
            shutil.copy(src, os.path.join(stage, "lib/modules", name))
        else:
            raise BenchError(f"{src}: cannot unpack this module format")
        names.append(name)
    with open(os.path.join(stage, "lib/modules/load"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(stage, "init"), "w") as f:
        f.write(INIT)
    for p in ("init", "bin/busybox", NETX.lstrip("/")):
        os.chmod(os.path.join(stage, p), 0o755)
    return linux_guest.pack_initramfs(stage, os.path.join(OUT, "net-initramfs.cpio.gz"))


class GuestLayout(Layout):
    """A cluster directory's layout whose switch lives elsewhere."""

    def __init__(self, directory, switch_dir):
        super().__init__(directory)
        self.switch_dir = switch_dir

    @property
    def vde_ctl(self):
        return os.path.join(self.switch_dir, "vde.ctl")


def guest_argv(cfg, node, lay, kernel, initrd):
    """A Shoal node's QEMU command line (qemu.node_argv) booting Linux."""
    argv = qemu.node_argv(cfg, node, lay)
    append = (f"console=ttyS0 quiet panic=-1 netbench_ip={LINUX_IP[node]} "
              f"netbench_mac={qemu.mac(node, 1)}")
    for opt, val in (("-name", f"linux-guest{node}"), ("-kernel", kernel), ("-initrd", initrd),
                     ("-append", append)):
        argv[argv.index(opt) + 1] = val
    return argv


def _alive(pid, marker):
    """Whether pid runs and its command line holds marker (so it is still
    the process this script started)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return marker in f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


class LinuxPair:
    """Two Linux guests on a private switch; `with` stops everything."""

    def __init__(self, args, progress):
        self.args, self.progress = args, progress
        self.dir = os.path.join(OUT, "net-linux")
        self.switch_dir = None
        self.switch_pid = None
        self.procs = {}

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _start(self):
        args = self.args
        for tool in ("vde_switch", "qemu-system-x86_64"):
            if not shutil.which(tool):
                raise BenchError(f"{tool} not found; run tools/deps")
        kernel = args.kernel or linux_guest.find_kernel()
        netx = os.path.join(args.build, "user", "bin", "tests", "netx")
        initrd = build_linux_initramfs(kernel, netx)
        self.progress(f"Linux: 2 guests of {kernel} ({args.accel}, {args.mem} MB), "
                      f"busybox initramfs with netx and {', '.join(LINUX_MODULES)}")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.switch_dir = tempfile.mkdtemp(prefix="shoal-net-")
        lay = GuestLayout(self.dir, self.switch_dir)
        self.lay = lay
        pidfile = os.path.join(self.switch_dir, "vde.pid")
        r = subprocess.run(["vde_switch", "-s", lay.vde_ctl, "-d", "-p", pidfile],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
        if r.returncode != 0:
            raise BenchError(f"vde_switch failed (status {r.returncode}):\n{r.stdout}")
        deadline = time.monotonic() + 5
        while not (os.path.exists(pidfile) and os.path.exists(os.path.join(lay.vde_ctl, "ctl"))):
            if time.monotonic() > deadline:
                raise BenchError("vde_switch made no pid file and control socket within 5 s")
            time.sleep(0.05)
        with open(pidfile) as f:
            self.switch_pid = int(f.read().strip())
        cfg = ClusterConfig(nodes=2, kernel=kernel, root=initrd, boot="direct",
                            accel=args.accel, mem=args.mem, disk_mb=0)
        for node in (0, 1):
            with open(lay.qemu_log(node), "wb") as err:
                self.procs[node] = subprocess.Popen(
                    guest_argv(cfg, node, lay, kernel, initrd), stdin=subprocess.DEVNULL,
                    stdout=err, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir)
        t0 = time.monotonic()
        for node in (0, 1):
            self._wait_ready(node, t0 + args.boot_timeout)
        self.progress(f"  both guests ready after {time.monotonic() - t0:.1f} s")

    def _wait_ready(self, node, deadline):
        log = self.lay.log(node)
        while True:
            text = linux_guest._read(log)
            if READY in text:
                for line in text.replace("\r", "").split("\n"):
                    if line.startswith("linux-guest: Linux"):
                        self.progress(f"  guest {node}: {line[len('linux-guest: '):]}")
                return
            p = self.procs[node]
            why = (f"its QEMU exited with status {p.returncode}" if p.poll() is not None else
                   "no ready line in time" if time.monotonic() > deadline else None)
            if why:
                raise BenchError(f"Linux guest {node}: {why}; console "
                                 f"{os.path.relpath(log, ROOT)}:\n{tail(text, 15)}\n"
                                 f"{linux_guest._read(self.lay.qemu_log(node))[-1000:]}")
            time.sleep(0.1)

    def console(self, node):
        return Console(self.lay.sock(node), None, name=f"Linux guest {node}")

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = {}
        marker = self.switch_dir.encode() if self.switch_dir else None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not (self.switch_pid and _alive(self.switch_pid, marker)):
                break
            os.kill(self.switch_pid, sig)
            deadline = time.monotonic() + 5
            while _alive(self.switch_pid, marker) and time.monotonic() < deadline:
                time.sleep(0.05)
        self.switch_pid = None
        if self.switch_dir:
            shutil.rmtree(self.switch_dir, ignore_errors=True)
            self.switch_dir = None


def run_linux(args, progress):
    res = {}
    with LinuxPair(args, progress) as pair:
        with pair.console(0) as c0, pair.console(1) as c1:
            for con in (c0, c1):
                out, status = con.run("echo ok")
                if (out, status) != ("ok\n", 0):
                    raise BenchError(f"{con.name}: the console shell answers {out!r} {status}")
            measure(c0, c1, LINUX_IP[1], args, progress, res)
    return res


# ---------------------------------------------------------------- output
def val(results, target, test):
    r = results.get(target, {}).get(test)
    return r["value"] if r and r.get("status") == "ok" else None


def ratio(results, test, higher):
    """Shoal's time over Linux's (for rates: Linux's rate over Shoal's)."""
    s, lx = val(results, "shoal", test), val(results, "linux", test)
    if s is None or lx is None or not s or not lx:
        return None
    return lx / s if higher else s / lx


def fmt(v):
    return f"{v:,.0f}" if v >= 1000 else f"{v:,.1f}" if v >= 10 else f"{v:.3f}"


def cell(results, target, test):
    r = results.get(target, {}).get(test)
    if r is None:
        return "-"
    if r.get("status") != "ok":
        why = r.get("reason", "")
        return f"failed ({why[:50]})"
    s = fmt(r["value"])
    return s + (f" ({r['mib_s']:.2f} MiB/s)" if "mib_s" in r else "")


def print_table(results, targets, tlist):
    labels = dict(TARGETS)
    print("\n| test | unit | " + " | ".join(labels[t] for t in targets) +
          " | Shoal/Linux (time) |")
    print("|---|---|" + "---|" * (len(targets) + 1))
    for name, unit, label, higher in tlist:
        if all(results.get(t, {}).get(name) is None for t in targets):
            continue
        q = ratio(results, name, higher)
        row = " | ".join(cell(results, t, name) for t in targets)
        print(f"| {label} | {unit} | {row} | {'-' if q is None else f'{q:.2f}'} |")
    for t in targets:
        for name, _, label, _ in tlist:
            r = results.get(t, {}).get(name)
            if r and r.get("status") == "ok" and r.get("detail"):
                print(f"  {labels[t]}, {name}: {r['detail']}"
                      + (f"; runs {', '.join(f'{x:.3f}' for x in r['runs'])}"
                         if r.get("runs") else ""))


def write_csv(results, targets, tlist, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["test", "target", "status", "unit", "value", "mib_per_s", "runs", "detail",
                    "reason"])
        for name, unit, _, higher in tlist:
            for t in targets:
                r = results.get(t, {}).get(name)
                if r is None:
                    continue
                w.writerow([name, t, r.get("status"), unit,
                            f"{r['value']:.3f}" if r.get("status") == "ok" else "",
                            f"{r['mib_s']:.3f}" if "mib_s" in r else "",
                            " ".join(f"{x:.4f}" for x in r.get("runs", [])),
                            r.get("detail", ""), r.get("reason", "")])
            q = ratio(results, name, higher)
            if q is not None:
                w.writerow([name, "shoal/linux", "ok", "time ratio", f"{q:.3f}", "", "", "", ""])
    print(f"csv: {os.path.relpath(path, ROOT)}")


def plot(results, targets, tlist, path, accel):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    labels = dict(TARGETS)
    colors = {"shoal": "tab:blue", "linux": "tab:orange"}
    pairs = [t for t in tlist if not t[0].startswith("raw_")]
    raw = [t for t in tlist if t[0].startswith("raw_")]
    fig, axes = plt.subplots(1, len(pairs) + 1, figsize=(4 * (len(pairs) + 1), 3.8))
    for ax, (name, unit, label, higher) in zip(axes, pairs):
        for i, t in enumerate(targets):
            v = val(results, t, name)
            bar = ax.bar(i, v or 0, color=colors[t])
            ax.bar_label(bar, labels=[fmt(v) if v is not None else "n/a"], fontsize="x-small")
        ax.set_xticks(range(len(targets)))
        ax.set_xticklabels([labels[t] for t in targets], fontsize="small")
        q = ratio(results, name, higher)
        ax.set_title(label + (f"\nShoal/Linux (time) {q:.2f}" if q is not None else ""),
                     fontsize="small")
        ax.set_ylabel(unit + (" (higher is better)" if higher else " (lower is better)"),
                      fontsize="small")
        ax.margins(y=0.15)
    ax = axes[-1]
    sizes = sorted({int(n.split("_")[-1]) for n, _, _, _ in raw}, reverse=True)
    for j, d in enumerate(("tx", "rx")):
        vs = [val(results, "shoal", f"raw_{d}_{n}") or 0 for n in sizes]
        bars = ax.bar([i + 0.4 * j for i in range(len(sizes))], vs, width=0.4,
                      label="sent" if d == "tx" else "received",
                      color="tab:blue" if d == "tx" else "tab:cyan")
        ax.bar_label(bars, labels=[fmt(v) for v in vs], fontsize="x-small")
    ax.set_xticks([i + 0.2 for i in range(len(sizes))])
    ax.set_xticklabels([f"{n}-byte frames" for n in sizes], fontsize="small")
    ax.set_ylabel("frames/s (higher is better)", fontsize="small")
    ax.set_title("Shoal: raw test frames node0 → node1\n(kernel blaster, no TCP/IP)",
                 fontsize="small")
    ax.legend(fontsize="x-small")
    ax.margins(y=0.15)
    fig.suptitle(f"Network: node0 → node1 over virtio-net on a VDE switch, {accel} (this host)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Details: the header of this file and docs/performance.md, \"Network\".")
    ap.add_argument("--quick", action="store_true",
                    help="1 run of 4 MiB, 200 round trips, 5000 frames")
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"),
                    help="QEMU accelerator of both systems (default tcg, the reference)")
    ap.add_argument("--runs", type=int, help="TCP throughput runs (default 5)")
    ap.add_argument("--tcp-mib", type=int, help="MiB per TCP throughput run (default 16)")
    ap.add_argument("--rr", type=int, help="round trips per latency test (default 2000)")
    ap.add_argument("--frames", type=int, help="raw frames per size (default 20000)")
    ap.add_argument("--no-shoal", action="store_true")
    ap.add_argument("--no-linux", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the make output directory: shoal.elf, root.img, user/bin/tests/netx")
    ap.add_argument("--kernel", help="the Linux guests' kernel (default newest /boot/vmlinuz-*)")
    ap.add_argument("--mem", type=int, default=256, help="memory per machine in MB (default 256)")
    ap.add_argument("--shoal-append", default="",
                    help="more Shoal boot options, e.g. hz=1000 (default none)")
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="seconds one client command may take (default 900)")
    ap.add_argument("--boot-timeout", type=float, default=180.0,
                    help="seconds the Linux guests may take to boot (default 180)")
    args = ap.parse_args()
    for key, full, quick in (("runs", 5, 1), ("tcp_mib", 16, 4), ("rr", 2000, 200),
                             ("frames", 20000, 5000)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
        if getattr(args, key) < 1:
            sys.exit(f"net.py: --{key.replace('_', '-')} must be at least 1")
    if args.frames > 1000000:
        sys.exit("net.py: --frames: at most 1000000 (the kernel's limit)")
    os.makedirs(OUT, exist_ok=True)

    def progress(msg):
        print(msg, flush=True)

    targets = [t for t, on in (("shoal", not args.no_shoal), ("linux", not args.no_linux)) if on]
    runners = {"shoal": run_shoal, "linux": run_linux}
    tlist = tests(args)
    results, problems = {}, []
    for t in targets:
        try:
            results[t] = runners[t](args, progress)
        except (ShoalError, subprocess.SubprocessError, OSError) as e:
            problems.append(f"{dict(TARGETS)[t]}: {e}")
            results[t] = {}
        for name, _, _, _ in tlist:
            r = results[t].get(name)
            if r and r.get("status") != "ok":
                problems.append(f"{dict(TARGETS)[t]}: {name}: {r.get('reason')}")

    print_table(results, targets, tlist)
    write_csv(results, targets, tlist, os.path.join(OUT, "net.csv"))
    plot(results, targets, tlist, os.path.join(OUT, "net.png"), args.accel)
    for msg in problems:
        print(f"net.py: {tail(msg, 15)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
