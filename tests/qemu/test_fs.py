"""test_fs.py — the file systems through the console shell and the user
programs (redirections, mkdir, mv, ln, rm, cat, ls, sync, reboot): files
written on /data (a virtio-blk disk holding ext2, made by mke2fs on the
host) survive a hard kill after `sync` and a `reboot`, and the host's
e2fsck finds the disk clean and debugfs reads what the node wrote.

The first test boots QEMU itself (qboot + PVH) with the disk attached
here; its console is a unix socket that QEMU waits on (wait=on), so
nothing printed at boot is missed, and a log file kept in the test's work
directory. The second goes through tools/cluster, which gives every node
its own persistent disk (build/.../diskN.img), across a kill and start."""

import os
import re
import shutil
import subprocess
import time

import dataclasses

import pytest

from shoal import qemu
from shoal.config import ClusterConfig
from shoal.console import PROMPT_RE, READY_RE, Console

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("mke2fs", "e2fsck", "debugfs")),
    reason="e2fsprogs (mke2fs, e2fsck, debugfs) is not installed")

DISK_MB = 64


class Node:
    """One QEMU node with the disk; .con is its console once up."""

    def __init__(self, kernel, workdir, disk, n):
        self.sock = str(workdir / f"boot{n}.sock")
        self.log = str(workdir / f"boot{n}.log")
        argv = [
            "qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-m", "256",
            "-bios", qemu.QBOOT, "-kernel", kernel[0], "-initrd", kernel[1],
            "-append", "node=0", "-nic", "none", "-display", "none",
            "-monitor", "none", "-parallel", "none",
            "-chardev", (f"socket,id=ser0,path={qemu.opt_path(self.sock)},server=on,"
                         f"wait=on,logfile={qemu.opt_path(self.log)}"),
            "-serial", "chardev:ser0",
            "-drive", f"file={qemu.opt_path(str(disk))},if=none,format=raw,id=d0",
            "-device", "virtio-blk-pci,drive=d0",
            "-d", "cpu_reset", "-no-reboot",
        ]
        self.qemu_log = open(workdir / f"boot{n}.qemu.log", "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.qemu_log,
                                     stderr=subprocess.STDOUT)
        self.con = Console(self.sock, name=f"boot {n}")
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock):  # QEMU creates it, then waits for us
            assert self.proc.poll() is None, f"QEMU exited with status {self.proc.returncode}"
            assert time.monotonic() < deadline, "QEMU made no console socket within 20 s"
            time.sleep(0.05)
        self.con.connect(timeout=10)
        self.con.expect_reboot()  # its first banner: we connect before it boots
        self.boot_text = self.con.wait_for(r"(?s).*" + READY_RE.pattern, timeout=60).group(0)
        self.con.wait_for(PROMPT_RE, timeout=60)  # init's shell is up

    def run(self, cmd, status=0):
        out, st = self.con.run(cmd, timeout=30)
        assert st == status, f"{cmd!r}: status {st}, output:\n{out}"
        return out

    def stop(self, kill=True):
        self.con.close()
        if kill and self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.qemu_log.close()
        if os.path.exists(self.sock):  # kept logs are copied; a socket cannot be
            os.unlink(self.sock)


@pytest.fixture
def nodes():
    made = []
    yield made
    for n in made:
        if n.proc.poll() is None:
            n.stop()


def host(*argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)


def test_data_disk_survives_kill_and_reboot(kernel, workdir, nodes):
    disk = workdir / "disk.img"
    r = host("mke2fs", "-q", "-t", "ext2", "-F", str(disk), f"{DISK_MB}M")
    assert r.returncode == 0, r.stdout

    # First boot: write, then sync, then a hard kill (no unmount).
    a = Node(kernel, workdir, disk, 1)
    nodes.append(a)
    assert re.search(r"shoal: mounted root \(ramdisk, ext2\) on /, devfs on /dev, "
                     r"proc on /proc, vda \(ext2\) on /data", a.boot_text), a.boot_text
    mounts = a.run("cat /proc/mounts")
    assert "/dev/root / ext2 rw 0 0\n" in mounts
    assert "/dev/vda /data ext2 rw 0 0\n" in mounts
    assert "proc /proc proc rw 0 0\n" in mounts
    a.run("mkdir /data/dir; echo hello from shoal > /data/dir/hello.txt")
    a.run("echo second line >> /data/dir/hello.txt")
    a.run("echo gone soon > /data/dir/tmp; mv /data/dir/tmp /data/moved; rm /data/moved")
    a.run("mkdir /data/a; mkdir /data/b; echo across > /data/a/f; mv /data/a/f /data/b/f")
    a.run("ln -s dir/hello.txt /data/link")
    assert a.run("cat /data/link") == "hello from shoal\nsecond line\n"
    # rename(2) across file systems fails (EXDEV): a hard link shows it;
    # mv then copies and removes, and the file comes back the same way.
    out = a.run("ln /data/b/f /b-f", status=1)
    assert out == "ln: /b-f: Cross-device link\n", out
    a.run("mv /data/b/f /b-f")
    assert a.run("cat /b-f; ls /data/b") == "across\n"
    a.run("mv /b-f /data/b/f")
    assert a.run("cat /data/b/f; ls /b-f", status=1) == \
        "across\nls: /b-f: No such file or directory\n"
    out = a.run("rmdir /data/dir", status=1)
    assert out == "rmdir: /data/dir: Directory not empty\n"
    assert a.run("cat /data/nothing", status=1) == \
        "cat: /data/nothing: No such file or directory\n"
    assert re.search(r"^-rw-r--r-- +1 +29 .* hello\.txt$", a.run("ls -l /data/dir"), re.M)
    assert re.search(r"^MemTotal: +\d+ kB$", a.run("cat /proc/meminfo"), re.M)
    a.run("sync")
    a.stop(kill=True)

    # Second boot on the same disk: read back, change, then `reboot`
    # (QEMU's -no-reboot makes it exit), which syncs first.
    b = Node(kernel, workdir, disk, 2)
    nodes.append(b)
    assert b.run("cat /data/dir/hello.txt") == "hello from shoal\nsecond line\n"
    assert b.run("cat /data/link") == "hello from shoal\nsecond line\n"
    assert b.run("cat /data/b/f") == "across\n"
    ls = b.run("ls -l /data")
    for name in ("lost+found", "dir", "a", "b", "link -> dir/hello.txt"):
        assert re.search(rf" {re.escape(name)}$", ls, re.M), ls
    assert "moved" not in ls
    b.run("echo written before reboot > /data/second-boot; rm /data/a/../b/f; rmdir /data/b")
    b.con.send("\x15reboot\r")
    assert b.proc.wait(timeout=30) is not None
    b.stop(kill=False)

    # The host's tools agree.
    r = host("e2fsck", "-fn", str(disk))
    assert r.returncode == 0, r.stdout
    r = host("debugfs", "-R", "cat /dir/hello.txt", str(disk))
    assert r.stdout.endswith("hello from shoal\nsecond line\n"), r.stdout
    r = host("debugfs", "-R", "cat /second-boot", str(disk))
    assert r.stdout.endswith("written before reboot\n"), r.stdout
    r = host("debugfs", "-R", "ls -l /", str(disk))
    assert re.search(r"\blink\b", r.stdout) and not re.search(r"\bb\b", r.stdout), r.stdout
    r = host("debugfs", "-R", "stat /link", str(disk))
    assert "Fast link dest: \"dir/hello.txt\"" in r.stdout, r.stdout


@pytest.mark.skipif("disk_mb" not in {f.name for f in dataclasses.fields(ClusterConfig)},
                    reason="tools/cluster gives nodes no disks")
def test_cluster_node_keeps_its_disk(make_cluster):
    c = make_cluster("fsdisk", nodes=1, boot="direct", fresh=True)
    with c.console(0) as con:
        out, st = con.run("cat /proc/mounts")
        assert st == 0 and "/dev/vda /data ext2 rw 0 0\n" in out, out
        assert con.run("echo kept across restarts > /data/keep; sync") == ("", 0)
    c.kill(0)
    c.start(0)
    with c.console(0) as con:
        assert con.run("cat /data/keep") == ("kept across restarts\n", 0)
        assert con.run("rm /data/keep; sync") == ("", 0)
    c.kill(0)
    r = host("e2fsck", "-fn", c.lay.disk(0))
    assert r.returncode == 0, r.stdout
