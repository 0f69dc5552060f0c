#!/usr/bin/python3
"""tools/bench/linux_guest.py — run a static program in a Linux guest on the
machine a Shoal node gets (the Linux column of tools/bench/ubench.py).

The guest is Debian's kernel (linux-image-amd64, /boot/vmlinuz-*) booted
directly by the same QEMU command line as a one-shot Shoal node
(shoal.qemu.oneshot_argv: -M pc, -accel tcg, -m 256, qboot, the default
CPU model, one CPU, no NICs, COM1 into a file, -no-reboot), with a small
initramfs instead of Shoal's root image:

  /bin/busybox            Debian's busybox-static (applets linked at boot)
  /bin/bench/ubench       the program, at the path it has on a Shoal node
  /init                   mounts devtmpfs, proc and sysfs, prints the
                          clocksource and the Meltdown mitigation, runs
                          the program with the words of the kernel
                          option ubench_args="...", prints
                          "linux-guest: exit status N" and powers off

The initramfs is made without root: the staging tree in
build/bench/linux-initramfs/ goes through `cpio -o -H newc -R 0:0 | gzip`
into build/bench/linux-initramfs.cpio.gz. It holds no device nodes; /init
mounts devtmpfs and reopens /dev/console, so it does not depend on the
kernel's built-in /dev/console.

Interface (for ubench.py):
  find_kernel()                        newest /boot/vmlinuz-*, or LinuxGuestError
  build_initramfs(program, busybox)    path of the .cpio.gz
  pack_initramfs(stage, out)           a staging tree into a .cpio.gz (net.py's guests)
  run_guest(kernel, initrd, args, ...) the guest's console text; LinuxGuestError
                                       on a timeout or without the exit line

  tools/bench/linux_guest.py [--ubench PATH] [--kernel PATH] [--mem 256]
                             [--accel tcg] [--append OPTS] [--timeout 900]
                             [-- UBENCH ARGS...]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "lib"))

from shoal import ShoalError  # noqa: E402
from shoal import qemu  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")
PROGRAM_PATH = "bin/bench/ubench"  # inside the guest, as on a Shoal node
EXIT_RE = re.compile(r"^linux-guest: exit status (\d+)", re.M)

INIT = """#!/bin/busybox sh
# /init of the ubench Linux guest (written by tools/bench/linux_guest.py)
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
echo "linux-guest: $(uname -sr), $(grep -c ^processor /proc/cpuinfo) cpu," \\
    "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \\
    "meltdown: $(cat /sys/devices/system/cpu/vulnerabilities/meltdown)"
echo "linux-guest: running /{prog} $ubench_args"
/{prog} $ubench_args
echo "linux-guest: exit status $?"
poweroff -f
"""


class LinuxGuestError(ShoalError):
    """The Linux guest could not be built, booted or did not finish."""


def _version_key(path):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", os.path.basename(path))]


def find_kernel():
    """The newest Debian kernel in /boot (package linux-image-amd64)."""
    try:
        names = [n for n in os.listdir("/boot") if n.startswith("vmlinuz-")]
    except FileNotFoundError:
        names = []
    paths = sorted((os.path.join("/boot", n) for n in names), key=_version_key)
    if not paths:
        raise LinuxGuestError("no /boot/vmlinuz-* found; run tools/deps bench "
                              "(Debian package linux-image-amd64)")
    if not os.access(paths[-1], os.R_OK):
        raise LinuxGuestError(f"{paths[-1]} is not readable by this user")
    return paths[-1]


def build_initramfs(program, busybox="/bin/busybox"):
    """build/bench/linux-initramfs.cpio.gz holding busybox, program and /init."""
    for what, path in (("program", program), ("busybox", busybox)):
        if not os.path.isfile(path):
            hint = " (Debian package busybox-static; run tools/deps)" if what == "busybox" else ""
            raise LinuxGuestError(f"{what} {path} not found{hint}")
    stage = os.path.join(OUT, "linux-initramfs")
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, os.path.dirname(PROGRAM_PATH)))
    for d in ("dev", "proc", "sys"):
        os.makedirs(os.path.join(stage, d))
    shutil.copy(busybox, os.path.join(stage, "bin", "busybox"))
    shutil.copy(program, os.path.join(stage, PROGRAM_PATH))
    with open(os.path.join(stage, "init"), "w") as f:
        f.write(INIT.replace("{prog}", PROGRAM_PATH))
    for p in ("init", "bin/busybox", PROGRAM_PATH):
        os.chmod(os.path.join(stage, p), 0o755)
    return pack_initramfs(stage, os.path.join(OUT, "linux-initramfs.cpio.gz"))


def pack_initramfs(stage, out):
    """The staging tree stage as a gzipped newc cpio archive out, owned by
    root, made without root; returns out."""
    for tool in ("cpio", "gzip"):
        if not shutil.which(tool):
            raise LinuxGuestError(f"{tool} not found; run tools/deps bench")
    # find . | cpio -o -H newc -R 0:0 | gzip, with the names sorted so the
    # archive only changes when its files do
    names = subprocess.run(["find", "."], cwd=stage, check=True, stdout=subprocess.PIPE,
                           text=True).stdout.split("\n")
    listing = "\n".join(sorted(n for n in names if n)) + "\n"
    with open(out + ".tmp", "wb") as f:
        cpio = subprocess.Popen(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=stage,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-6", "-n"], stdin=cpio.stdout, stdout=f)
        cpio.stdout.close()
        cpio.communicate(listing.encode())
        gz.wait()
    if cpio.returncode or gz.returncode:
        raise LinuxGuestError(f"cpio/gzip failed ({cpio.returncode}/{gz.returncode})")
    os.replace(out + ".tmp", out)
    return out


def guest_argv(kernel, initrd, args, console_log, accel="tcg", mem=256, append=""):
    """A one-shot Shoal node's QEMU command line booting Linux instead;
    append adds kernel options (e.g. mitigations=off)."""
    if any(c in " ".join(args) + append for c in '"\n'):
        raise LinuxGuestError("guest arguments and options may not contain quotes or newlines")
    append = ("console=ttyS0 quiet panic=-1 " + append).strip()
    if args:
        append += f' ubench_args="{" ".join(args)}"'
    return qemu.oneshot_argv(kernel, initrd, append, console_log, accel=accel, mem=mem,
                             debug_exit=False)


def run_guest(kernel, initrd, args, accel="tcg", mem=256, timeout=900.0, progress=None,
              append=""):
    """Boot the guest, wait for it to power off; return its console text."""
    os.makedirs(OUT, exist_ok=True)
    log = os.path.join(OUT, "linux-guest.console.log")
    err = os.path.join(OUT, "linux-guest.qemu.log")
    argv = guest_argv(kernel, initrd, args, log, accel, mem, append)
    if os.path.exists(log):
        os.unlink(log)
    t0 = time.monotonic()
    with open(err, "wb") as errf:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errf,
                             stderr=subprocess.STDOUT)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise LinuxGuestError(f"the Linux guest did not power off within {timeout:g} s; "
                                  f"console: {os.path.relpath(log, ROOT)}\n{_tail(log)}")
    if progress:
        progress(f"  Linux guest ran {time.monotonic() - t0:.1f} s (QEMU status {p.returncode})")
    text = _read(log)
    if not EXIT_RE.search(text):
        raise LinuxGuestError(f"the Linux guest ended (QEMU status {p.returncode}) without "
                              f"running the program to its end; console: "
                              f"{os.path.relpath(log, ROOT)}\n{_tail(log)}\n{_read(err)[-2000:]}")
    return text


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _tail(path, lines=20):
    return "\n".join(_read(path).replace("\r", "").strip().split("\n")[-lines:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ubench", default=os.path.join(ROOT, "build", "user", "bin", "bench",
                                                     "ubench"),
                    help="the static program to run (default build/user/bin/bench/ubench)")
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--kernel", help="the Linux kernel (default: newest /boot/vmlinuz-*)")
    ap.add_argument("--mem", type=int, default=256, help="guest memory in MB (default 256)")
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"))
    ap.add_argument("--append", default="", help="more kernel options (mitigations=off)")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("args", nargs="*", help="arguments for the program (after --)")
    a = ap.parse_args()
    try:
        kernel = a.kernel or find_kernel()
        initrd = build_initramfs(a.ubench, a.busybox)
        text = run_guest(kernel, initrd, a.args, a.accel, a.mem, a.timeout, append=a.append)
    except ShoalError as e:
        sys.exit(f"linux_guest.py: {e}")
    sys.stdout.write(text.replace("\r", ""))
    return int(EXIT_RE.search(text).group(1))


if __name__ == "__main__":
    sys.exit(main())
