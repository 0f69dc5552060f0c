#!/usr/bin/python3
"""tools/bench/fs.py — file-system benchmark: the RAM disk and virtio-blk (make bench).

Boots one node directly under TCG with a fresh virtio-blk disk and runs the
kernel's `fsbench` monitor command on / (the root RAM disk) and on /data
(the virtio-blk disk): sequential write and read MiB/s with a cold and a
warm buffer cache, files created and deleted per second, and the buffer
cache's hit rate in a build-like workload. Prints a table, writes
build/bench/fs.csv and build/bench/fs.png. A benchmark, not a test: it
asserts nothing.

The node boots a root image like build/root.img (same staging tree, same
mke2fs options) but --root-mb large (default 64, the size of the data
disk), since the 4 MB image every node gets has no room for the test file;
the two file systems then have the same geometry.

  tools/bench/fs.py [--mb 16] [--runs 3] [--small-cache-kb 2048] [--root-mb 64]
                    [--disk-mb 64] [--mem 256] [--build build]
"""
import argparse
import csv
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))

from shoal import ShoalError  # noqa: E402
from shoal.cluster import Cluster  # noqa: E402
from shoal.config import ClusterConfig  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")
LINE_RE = re.compile(r"^fsbench: (\w+=\S+(?: \w+=\S+)*)\s*$", re.M)

# (name, directory, boot options, label): the columns. Columns with the same
# boot options share one boot.
TARGETS = (("ramdisk", "/", "", "RAM disk (/)"),
           ("virtio_blk", "/data", "", "virtio-blk (/data)"))
SMALL = ("virtio_blk_small", "/data", "bcache={kb}", "virtio-blk, {kb} KiB cache")
# (key, unit, label) in table order
METRICS = (
    ("seq_write_MBps", "MiB/s", "sequential write (fsync included)"),
    ("cold_read_MBps", "MiB/s", "sequential read, cold cache"),
    ("warm_read_MBps", "MiB/s", "sequential read, warm cache"),
    ("cold_read_disk_blocks", "blocks", "blocks read from the device, cold read"),
    ("warm_read_disk_blocks", "blocks", "blocks read from the device, warm read"),
    ("create_files_per_s", "files/s", "create 1 KiB files (sync included)"),
    ("delete_files_per_s", "files/s", "delete them (sync included)"),
    ("build_hit_rate", "", "build: buffer-cache hit rate, all passes"),
    ("build_cold_hit_rate", "", "build: hit rate, first pass (cold cache)"),
    ("build_warm_hit_rate", "", "build: hit rate, later passes"),
    ("build_seconds", "s", "build: time, all passes"),
    ("build_cold_seconds", "s", "build: time, first pass"),
    ("build_cold_disk_blocks", "blocks", "build: blocks read from the device, first pass"),
    ("build_warm_disk_blocks", "blocks", "build: blocks read from the device, later passes"),
)


def make_root(build, mb):
    """build/bench/fsroot.img: the root staging tree (BUILD/root) in an mb
    MiB ext2 image, made as the Makefile makes BUILD/root.img."""
    staging = os.path.join(build, "root")
    if not os.path.isdir(staging):
        raise ShoalError(f"{staging} not found (run make first)")
    path = os.path.join(OUT, "fsroot.img")
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(mb << 20)
    for argv in (["mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-L", "shoal-root",
                  "-d", staging, path],
                 ["e2fsck", "-fn", path]):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise ShoalError(f"{' '.join(argv)} failed (status {r.returncode}):\n{r.stdout}")
    return path


def parse(output):
    """{key: value} from the fsbench lines of one run."""
    vals = {}
    for m in LINE_RE.finditer(output):
        for kv in m.group(1).split():
            k, _, v = kv.partition("=")
            vals[k] = v
    return vals


def number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def median(values):
    """The median of the numeric values as the kernel printed it, or "-"."""
    nums = sorted((number(v), v) for v in values if number(v) is not None)
    return nums[(len(nums) - 1) // 2][1] if nums else "-"


def plot(targets, results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    groups = (
        ("MiB/s", ("seq_write_MBps", "cold_read_MBps", "warm_read_MBps"),
         ("write", "cold read", "warm read")),
        ("files/s", ("create_files_per_s", "delete_files_per_s"), ("create", "delete")),
        ("build hit rate", ("build_cold_hit_rate", "build_warm_hit_rate", "build_hit_rate"),
         ("first pass", "later passes", "all")),
    )
    fig, axes = plt.subplots(1, len(groups), figsize=(12, 4))
    width = 0.8 / len(targets)
    for ax, (ylabel, keys, labels) in zip(axes, groups):
        for i, (name, _, _, label) in enumerate(targets):
            vals = [number(results.get(name, {}).get(k)) or 0.0 for k in keys]
            ax.bar([x + (i - (len(targets) - 1) / 2) * width for x in range(len(keys))], vals,
                   width=width, label=label)
        ax.set_xticks(list(range(len(keys))))
        ax.set_xticklabels(labels)
        ax.set_ylabel(ylabel)
        if ylabel == "build hit rate":
            ax.set_ylim(0, 1.15)
            for bars in ax.containers:
                ax.bar_label(bars, fmt="%.3f", fontsize="x-small", rotation=90, padding=2)
    axes[0].legend(fontsize="small")
    fig.suptitle("Shoal file system, one node under TCG (this host)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def run_boot(args, root, append, targets, raw, failed):
    """One node booted with append; every target run args.runs times,
    alternating the order (TCG translates code on its first use, which
    would favour whichever target runs second)."""
    cl = Cluster(os.path.join(OUT, "c-fs"))
    cfg = ClusterConfig(nodes=1, kernel=os.path.join(args.build, "shoal.elf"), root=root,
                        boot="direct", accel="tcg", mem=args.mem, append=append,
                        disk_mb=args.disk_mb, fresh=True)
    try:
        print(f"booting one node (direct, tcg, {args.mem} MB, {args.root_mb} MB root RAM disk, "
              f"{args.disk_mb} MB virtio-blk disk{', ' + append if append else ''}) ...",
              flush=True)
        cl.up(cfg)
        for r in range(args.runs):
            for name, path, _, label in (targets if r % 2 == 0 else targets[::-1]):
                print(f"  fsbench {path} {args.mb} ({label}, run {r + 1})", flush=True)
                out, status = cl.run(0, f"fsbench {path} {args.mb}", timeout=args.timeout)
                if status != 0:
                    failed.append(f"{label}: status {status}:\n{out.strip()}")
                    continue
                raw.setdefault(name, []).append(parse(out))
    except ShoalError as e:
        failed.append(str(e))
    finally:
        cl.down()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=16,
                    help="MiB written and read sequentially (default 16)")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per column; the table shows medians (default 3)")
    ap.add_argument("--small-cache-kb", type=int, default=2048,
                    help="also run on /data with the buffer cache this small (bcache=KB); "
                         "0 skips it (default 2048)")
    ap.add_argument("--root-mb", type=int, default=64,
                    help="size of the benchmark's root RAM disk image (default 64)")
    ap.add_argument("--disk-mb", type=int, default=64,
                    help="size of the fresh virtio-blk disk (default 64)")
    ap.add_argument("--mem", type=int, default=256, help="node memory in MB (default 256)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the make output directory with shoal.elf and root/ (default build)")
    ap.add_argument("--timeout", type=float, default=1200.0,
                    help="seconds one fsbench run may take (default 1200)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)

    try:
        root = make_root(args.build, args.root_mb)
    except ShoalError as e:
        sys.exit(f"fs.py: {e}")
    targets = list(TARGETS)
    if args.small_cache_kb:
        targets.append(tuple(f.format(kb=args.small_cache_kb) for f in SMALL))
    raw, failed = {}, []
    for append in dict.fromkeys(t[2] for t in targets):
        run_boot(args, root, append, [t for t in targets if t[2] == append], raw, failed)

    keys = [k for k, _, _ in METRICS] + ["cache_kb", "build_units", "build_passes"]
    results = {name: {k: median(run.get(k) for run in runs) for k in keys}
               for name, runs in raw.items()}
    print(f"\n{args.mb} MiB sequential; build: "
          f"{next(iter(results.values()), {}).get('build_units', '?')} units x "
          f"{next(iter(results.values()), {}).get('build_passes', '?')} passes; medians of "
          f"{args.runs} run{'s' if args.runs > 1 else ''}")
    print("\n| metric | unit | " + " | ".join(t[3] for t in targets) + " |")
    print("|---|---|" + "---|" * len(targets))
    rows = [("cache_kb", "KiB", "buffer cache size")] + list(METRICS)
    for key, unit, label in rows:
        vals = [results.get(t[0], {}).get(key, "-") for t in targets]
        print(f"| {label} | {unit} | " + " | ".join(vals) + " |")

    csv_path = os.path.join(OUT, "fs.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "unit", "target", "dir", "boot_options", "runs", "median", "min",
                    "max"])
        for key, unit, _ in [("mb", "MiB", "")] + rows:
            for name, path, append, _ in targets:
                runs = raw.get(name, [])
                vals = [str(args.mb)] if key == "mb" else [r.get(key) for r in runs]
                vals = sorted((number(v), v) for v in vals if number(v) is not None)
                w.writerow([key, unit, name, path, append, len(runs), median(v for _, v in vals),
                            vals[0][1] if vals else "", vals[-1][1] if vals else ""])
    print(f"csv: {os.path.relpath(csv_path, ROOT)}")
    plot(targets, results, os.path.join(OUT, "fs.png"))
    for msg in failed:
        print(f"fs.py: {msg}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
