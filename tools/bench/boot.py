#!/usr/bin/python3
"""tools/bench/boot.py — boot-time, image-size and idle-CPU benchmark (make bench).

Boots clusters of 1 and 8 nodes by PXE and directly (TCG; and KVM on the
direct path when /dev/kvm is usable), records each node's time from QEMU's
start to its ready line, the kernel image size, and the host CPU one idle
node uses over 20 s. Prints tables, writes build/bench/boot.csv and
build/bench/boot.png. A benchmark, not a test: it asserts nothing.

  tools/bench/boot.py [--sizes 1,8] [--modes pxe,direct] [--idle-seconds 20] [--no-kvm]
"""
import argparse
import csv
import os
import statistics
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))

from shoal import ShoalError  # noqa: E402
from shoal.cluster import Cluster, default_timeout  # noqa: E402
from shoal.config import ClusterConfig  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")
KERNEL = os.path.join(ROOT, "build", "shoal.elf")
ROOTIMG = os.path.join(ROOT, "build", "root.img")


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def boot_times(mode, accel, n):
    cl = Cluster(os.path.join(OUT, f"c-{mode}-{accel}-{n}"))
    cfg = ClusterConfig(nodes=n, kernel=KERNEL, root=ROOTIMG, boot=mode, accel=accel,
                        timeout=default_timeout(n))
    try:
        boots = cl.up(cfg)
        return [b.seconds for b in boots]
    finally:
        cl.down()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(seconds):
    """Percent of one host CPU used by an idle node (direct boot, TCG)."""
    cl = Cluster(os.path.join(OUT, "c-idle"))
    cfg = ClusterConfig(nodes=1, kernel=KERNEL, root=ROOTIMG, boot="direct", accel="tcg")
    try:
        boots = cl.up(cfg)
        pid = boots[0].pid
        time.sleep(5)  # let boot-time work settle
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(pid), time.monotonic()
        return 100.0 * (c1 - c0) / (t1 - t0)
    finally:
        cl.down()


def image_size():
    """File size and the bytes the loader places in memory (PT_LOAD memsz)."""
    with open(KERNEL, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    mem = 0
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 1:
            mem += struct.unpack_from("<Q", data, phoff + i * phentsize + 40)[0]
    return len(data), mem


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot; run tools/deps bench)")
        return
    labels = [f"{r['mode']}/{r['accel']}\n{r['nodes']} node{'s' if r['nodes'] > 1 else ''}"
              for r in rows]
    med = [r["median_s"] for r in rows]
    mx = [r["max_s"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], med, width=0.4, label="median node")
    ax.bar([x + 0.2 for x in xs], mx, width=0.4, label="slowest node")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels)
    ax.set_ylabel("seconds from QEMU start to ready line")
    ax.set_title("Shoal boot time (this host)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {os.path.relpath(path, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,8", help="cluster sizes (default 1,8)")
    ap.add_argument("--modes", default="pxe,direct", help="boot modes (default pxe,direct)")
    ap.add_argument("--idle-seconds", type=float, default=20.0)
    ap.add_argument("--no-kvm", action="store_true", help="skip the KVM direct-boot runs")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = [(m, "tcg") for m in args.modes.split(",")]
    if "direct" in args.modes and kvm_usable() and not args.no_kvm:
        runs.append(("direct", "kvm"))
    os.makedirs(OUT, exist_ok=True)

    rows = []
    for mode, accel in runs:
        for n in sizes:
            print(f"booting {n} node(s), {mode}, {accel} ...", flush=True)
            try:
                t = boot_times(mode, accel, n)
            except ShoalError as e:
                print(f"  failed: {e}")
                continue
            rows.append({"mode": mode, "accel": accel, "nodes": n,
                         "median_s": round(statistics.median(t), 2),
                         "max_s": round(max(t), 2), "min_s": round(min(t), 2)})

    fsize, msize = image_size()
    print(f"measuring idle CPU over {args.idle_seconds:.0f} s ...", flush=True)
    idle = idle_cpu(args.idle_seconds)

    print("\n| boot | accel | nodes | median s | min s | max s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['accel']} | {r['nodes']} | {r['median_s']} | {r['min_s']} "
              f"| {r['max_s']} |")
    print(f"\nkernel image: {fsize} bytes on disk, {msize} bytes loaded (PT_LOAD memsz)")
    print(f"idle node: {idle:.2f}% of one host CPU over {args.idle_seconds:.0f} s")

    csv_path = os.path.join(OUT, "boot.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "mode", "accel", "nodes", "median_s", "min_s", "max_s", "value"])
        for r in rows:
            w.writerow(["boot", r["mode"], r["accel"], r["nodes"], r["median_s"], r["min_s"],
                        r["max_s"], ""])
        w.writerow(["image_file_bytes", "", "", "", "", "", "", fsize])
        w.writerow(["image_loaded_bytes", "", "", "", "", "", "", msize])
        w.writerow(["idle_cpu_percent", "direct", "tcg", 1, "", "", "", f"{idle:.2f}"])
    print(f"csv: {os.path.relpath(csv_path, ROOT)}")
    plot(rows, os.path.join(OUT, "boot.png"))


if __name__ == "__main__":
    main()
