"""test_launcher.py — the launcher without booting anything: the QEMU and
GRUB configuration it builds, the console protocol against a fake shell,
and the command-line tool's usage errors."""

import os
import re
import socket
import threading
from pathlib import Path

import pytest

from shoal import NodeDown, ShoalError
from shoal.config import ClusterConfig, parse_icount
from shoal.console import Console, ConsoleBusy, ConsoleFailure, ConsoleTimeout
from shoal.layout import Layout
from shoal import qemu


def cfg(**kw):
    base = dict(nodes=4, kernel="/k/shoal.elf", root="/k/root.img")
    base.update(kw)
    c = ClusterConfig(**base)
    c.validate(check_files=False)
    return c


def opt(argv, name):
    """Every value that follows option name in argv."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]


# ---------------------------------------------------------------- --icount
@pytest.mark.parametrize("spec, want", [
    ("5", (5, {})),
    ("5,0:3,2:4", (5, {0: 3, 2: 4})),
    ("0:3", (None, {0: 3})),
    (" 7 , 1:0 ", (7, {1: 0})),
])
def test_icount_parse(spec, want):
    assert parse_icount(spec) == want


@pytest.mark.parametrize("spec, msg", [
    ("", "empty"), ("x", "not a number"), ("11", "out of range"), ("5,3", "not NODE:SHIFT"),
    ("0:3,0:4", "twice"), ("300:1", "out of range"), ("1:x", "not a number"),
])
def test_icount_parse_errors(spec, msg):
    with pytest.raises(ShoalError, match=msg):
        parse_icount(spec)


def test_icount_per_node_command_lines():
    c = cfg(icount_default=5, icount_nodes={0: 3, 2: 4})
    lay = Layout("/tmp/c")
    shifts = [opt(qemu.node_argv(c, n, lay), "-icount") for n in range(4)]
    assert shifts == [["shift=3,align=on"], ["shift=5,align=on"], ["shift=4,align=on"],
                      ["shift=5,align=on"]]
    c = cfg(icount_nodes={1: 2})
    assert [opt(qemu.node_argv(c, n, lay), "-icount") for n in range(3)] == \
        [[], ["shift=2,align=on"], []]


# ---------------------------------------------------------------- QEMU, GRUB
def test_pxe_node_command_line():
    lay = Layout("/tmp/c")
    argv = qemu.node_argv(cfg(nodes=12, mem=128), 10, lay)
    assert argv[0] == "qemu-system-x86_64"
    assert opt(argv, "-accel") == ["tcg"] and opt(argv, "-m") == ["128"]
    assert opt(argv, "-M") == ["pc"] and opt(argv, "-boot") == ["n"]
    assert opt(argv, "-display") == ["none"]
    assert opt(argv, "-netdev") == [
        "user,id=n0,tftp=/tmp/c/tftp,bootfile=/boot/grub/i386-pc/core.0",
        "vde,id=n1,sock=/tmp/c/vde.ctl"]
    assert opt(argv, "-device") == [
        "e1000,netdev=n0,mac=52:54:00:00:00:0a",
        "virtio-net-pci,netdev=n1,mac=52:54:00:00:01:0a,romfile=",
        "virtio-blk-pci,drive=d0"]
    assert opt(argv, "-drive") == ["file=/tmp/c/disk10.img,if=none,format=raw,id=d0"]
    assert opt(argv, "-chardev") == [
        "socket,id=ser0,path=/tmp/c/node10.sock,server=on,wait=off,"
        "logfile=/tmp/c/node10.log"]
    assert opt(argv, "-serial") == ["chardev:ser0"]
    assert opt(argv, "-pidfile") == ["/tmp/c/node10.pid"]
    assert "-kernel" not in argv and "-icount" not in argv


def test_direct_node_command_line():
    lay = Layout("/tmp/c")
    argv = qemu.node_argv(cfg(boot="direct", accel="kvm", append="loglevel=7 hz=250"), 3, lay)
    assert opt(argv, "-accel") == ["kvm"]
    assert opt(argv, "-bios") == ["/usr/share/qemu/qboot.rom"]
    assert opt(argv, "-kernel") == ["/tmp/c/tftp/boot/shoal.elf"]
    assert opt(argv, "-initrd") == ["/tmp/c/tftp/boot/root.img"]
    assert opt(argv, "-append") == ["node=3 loglevel=7 hz=250"]
    assert "e1000,netdev=n0,mac=52:54:00:00:00:03,romfile=" in opt(argv, "-device")
    assert "-boot" not in argv
    assert opt(argv, "-netdev")[0] == "user,id=n0"


def test_http_port_forward():
    """NIC0's user netdev forwards host 127.0.0.1:PORT to the node's port 80."""
    lay = Layout("/tmp/c")
    for boot in ("direct", "pxe"):
        argv = qemu.node_argv(cfg(boot=boot), 1, lay, 20481)
        n0 = opt(argv, "-netdev")[0]
        assert n0.startswith("user,id=n0") and n0.endswith(",hostfwd=tcp:127.0.0.1:20481-:80")
    from shoal.cluster import free_ports
    ports = free_ports(8)
    assert len(set(ports)) == 8 and all(1024 <= p < 65536 for p in ports)


def test_link_two_switches():
    """--link: nodes N//2.. on vde2.ctl, a wirefilter joining the switches."""
    lay = Layout("/tmp/c")
    c = cfg(boot="direct", nodes=4, link="loss=5,delay=20")
    c.validate(check_files=False)
    socks = [[v for v in opt(qemu.node_argv(c, n, lay), "-netdev") if v.startswith("vde")][0]
             for n in range(4)]
    assert socks == ["vde,id=n1,sock=/tmp/c/vde.ctl"] * 2 + ["vde,id=n1,sock=/tmp/c/vde2.ctl"] * 2
    assert qemu.wirefilter_argv(c, lay) == [
        "wirefilter", "-v", "/tmp/c/vde.ctl:/tmp/c/vde2.ctl", "-l", "5.0", "-d", "20",
        "--daemon", "--pidfile", "/tmp/c/wirefilter.pid"]
    c = cfg(boot="direct", nodes=2, link="loss=10,dup=5,delay=4,jitter=3")
    assert qemu.wirefilter_argv(c, lay)[3:] == [
        "-l", "10.0", "-D", "5.0", "-d", "4+3", "-N", "--daemon", "--pidfile",
        "/tmp/c/wirefilter.pid"]
    for bad, msg in (("loss=101", "out of range"), ("reorder=3", "not KEY=VALUE"),
                     ("delay=x", "not a number"), ("delay=2,jitter=3", "must not exceed")):
        with pytest.raises(ShoalError, match=msg):
            cfg(boot="direct", nodes=2, link=bad).validate(check_files=False)
    with pytest.raises(ShoalError, match="at least 2 nodes"):
        cfg(boot="direct", nodes=1, link="loss=1").validate(check_files=False)


def test_no_disk_with_disk_mb_0():
    argv = qemu.node_argv(cfg(disk_mb=0), 1, Layout("/tmp/c"))
    assert "-drive" not in argv
    assert "virtio-blk-pci,drive=d0" not in opt(argv, "-device")


@pytest.mark.parametrize("mb", [-1, 1, 7, 65537])
def test_bad_disk_size_refused(mb):
    with pytest.raises(ShoalError, match="--disk-mb"):
        cfg(disk_mb=mb)


def test_disks_made_once_kept_and_made_fresh(tmp_path):
    from shoal.cluster import Cluster
    c = Cluster(tmp_path)
    conf = cfg(nodes=2, disk_mb=8)
    c._prepare_disks(conf)
    disk0 = tmp_path / "disk0.img"
    assert disk0.stat().st_size == 8 << 20 and (tmp_path / "disk1.img").exists()
    assert not (tmp_path / "disk2.img").exists()
    # ext2 superblock magic 0xEF53 at byte 1024 + 56
    assert disk0.read_bytes()[1024 + 56:1024 + 58] == b"\x53\xef"
    with open(disk0, "r+b") as f:  # what a node wrote must survive the next up
        f.seek(4 << 20)
        f.write(b"node data")
    c._prepare_disks(conf)
    with open(disk0, "rb") as f:
        f.seek(4 << 20)
        assert f.read(9) == b"node data"
    c._prepare_disks(cfg(nodes=2, disk_mb=8, fresh=True))
    with open(disk0, "rb") as f:
        f.seek(4 << 20)
        assert f.read(9) != b"node data"


def test_commas_in_paths_are_escaped():
    argv = qemu.node_argv(cfg(), 0, Layout("/tmp/a,b"))
    assert opt(argv, "-chardev")[0].startswith("socket,id=ser0,path=/tmp/a,,b/node0.sock,")


def test_grub_cfg():
    lay = Layout("/tmp/c")
    text = qemu.grub_cfg(cfg(append="loglevel=6"), 7, lay)
    assert lay.grub_cfg(qemu.mac(7, 0)) == "/tmp/c/tftp/boot/grub/grub.cfg-01-52-54-00-00-00-07"
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert "terminal_output serial" in lines
    assert "multiboot2 /boot/shoal.elf node=7 loglevel=6" in lines
    assert lines[-2:] == ["module2 /boot/root.img.gz root", "boot"]


@pytest.mark.parametrize("kw, msg", [
    (dict(accel="kvm"), "needs --boot direct"),
    (dict(accel="kvm", boot="direct", icount_default=3), "needs --accel tcg"),
    (dict(append="node=3"), "set per node"),
    (dict(nodes=0), "1..256"),
    (dict(nodes=257), "1..256"),
    (dict(icount_nodes={9: 1}), "not in a 4-node cluster"),
    (dict(boot="usb"), "--boot"),
    (dict(mem=8), "--mem"),
])
def test_config_errors(kw, msg):
    with pytest.raises(ShoalError, match=re.escape(msg)):
        cfg(**kw)


def test_config_round_trip():
    c = cfg(icount_default=5, icount_nodes={1: 3}, append="hz=100")
    assert ClusterConfig.from_dict(c.to_dict()) == c


# ---------------------------------------------------------------- console
class FakeShell:
    """Stands in for the kernel monitor on a unix socket: echoes input,
    ^U erases the line, `;` separates commands, `$?` is the last status."""

    def __init__(self, path, node=5):
        self.node = node
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(1)
        self.status = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            self.session()
        except OSError:  # the client went away
            pass

    def session(self):
        conn, _ = self.srv.accept()
        put = lambda s: conn.sendall(s.replace("\n", "\r\n").encode())  # noqa: E731
        put(f"fake:{self.node}> ")
        line = ""
        while True:
            b = conn.recv(1)
            if not b:
                return
            c = b.decode()
            if c == "\x15":
                put("\b \b" * len(line))
                line = ""
            elif c == "\r":
                put("\n")
                for cmd in line.split(";"):
                    self.status = self.execute(cmd.split(), put)
                line = ""
                put(f"fake:{self.node}> ")
            else:
                line += c
                put(c)

    def execute(self, argv, put):
        if not argv:
            return self.status
        if argv[0] == "node":
            put(f"node {self.node}\n")
            return 0
        if argv[0] == "echo":
            put(" ".join(str(self.status) if a == "$?" else a for a in argv[1:]) + "\n")
            return 0
        if argv[0] == "nonl":
            put("no newline")
            return 0
        if argv[0] == "fail":
            put("failing\n")
            return int(argv[1])
        if argv[0] == "panic":
            put("\n======== SHOAL PANIC: test ========\nbacktrace:\n")
            return 0
        if argv[0] == "hang":
            return self.hang()
        put(f"{argv[0]}: unknown command (try 'help')\n")
        return 127

    def hang(self):
        threading.Event().wait()


@pytest.fixture
def fake(tmp_path):
    sock = str(tmp_path / "n.sock")
    FakeShell(sock)
    con = Console(sock, str(tmp_path / "n.lock"), name="node 5")
    yield con
    con.close()


def test_run_returns_output_and_status(fake):
    with fake:
        assert fake.run("node") == ("node 5\n", 0)
        assert fake.run("echo a  b") == ("a b\n", 0)
        assert fake.run("frob") == ("frob: unknown command (try 'help')\n", 127)
        assert fake.run("fail 3") == ("failing\n", 3)
        assert fake.run("fail 3; node") == ("failing\nnode 5\n", 0)
        assert fake.run("nonl") == ("no newline", 0)
        assert fake.run("") == ("", 0)


def test_run_ignores_a_half_typed_line(fake):
    with fake:
        fake.send("garbage")
        assert fake.run("node") == ("node 5\n", 0)


def test_wait_for(fake):
    with fake:
        fake.send("\r")
        m = fake.wait_for(r"fake:(\d+)> ", timeout=5)
        assert m.group(1) == "5"
        with pytest.raises(ConsoleTimeout, match="no 'never' within 0.2 s"):
            fake.wait_for("never", timeout=0.2)


def test_run_timeout(fake):
    with fake:
        with pytest.raises(ConsoleTimeout, match="did not finish within 0.3 s"):
            fake.run("hang", timeout=0.3)


def test_failure_pattern_raises(fake):
    with fake:
        with pytest.raises(ConsoleFailure, match="panic: ======== SHOAL PANIC: test"):
            fake.run("panic")


def test_failure_pattern_allowed(fake):
    with fake:
        with fake.allow("panic"):
            out, status = fake.run("panic")
        assert "SHOAL PANIC" in out and status == 0


def test_console_busy(fake, tmp_path):
    with fake:
        other = Console(fake.sock_path, str(tmp_path / "n.lock"), name="node 5")
        with pytest.raises(ConsoleBusy, match=r"node 5's console is in use by PID \d+"):
            other.connect()


def test_console_of_missing_node(tmp_path):
    with pytest.raises(NodeDown, match="node 9 is not up"):
        Console(str(tmp_path / "none.sock"), name="node 9").connect()


def test_run_rejects_long_or_multiline_commands(fake):
    with fake:
        with pytest.raises(ShoalError, match="one command line"):
            fake.run("node\nnode")
        with pytest.raises(ShoalError, match="too long"):
            fake.run("echo " + "x" * 300)


# ---------------------------------------------------------------- the tool
@pytest.mark.parametrize("cmd", ["", "up", "down", "status", "ports", "kill", "start", "console", "run"])
def test_help(cli, cmd):
    r = cli(*([cmd] if cmd else []), "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: tools/cluster")


def test_unknown_option(cli):
    r = cli("up", "-n", "1", "--frobnicate")
    assert r.returncode == 2 and "unrecognized arguments: --frobnicate" in r.stderr
    r = cli("explode")
    assert r.returncode == 2 and "invalid choice: 'explode'" in r.stderr
    r = cli("run", "x", "node")
    assert r.returncode == 2 and "not a node number" in r.stderr


def test_commands_without_a_cluster(cli, cluster_dir):
    d = cluster_dir("none")
    r = cli("run", "0", "node", dir=d)
    assert r.returncode == 125 and "no cluster in" in r.stderr and r.stdout == ""
    r = cli("status", dir=d)
    assert r.returncode == 1 and "no cluster in" in r.stdout
    r = cli("kill", "0", dir=d)
    assert r.returncode == 1 and "no cluster in" in r.stderr
    r = cli("down", dir=d)
    assert r.returncode == 0 and "no cluster running" in r.stdout


def test_up_bad_input(cli, cluster_dir, tmp_path):
    d = cluster_dir("badinput")
    r = cli("up", "-n", "1", "--kernel", tmp_path / "nonexistent.elf", dir=d)
    assert r.returncode == 1 and "nonexistent.elf not found" in r.stderr
    r = cli("up", "-n", "1", "--accel", "kvm", dir=d)
    assert r.returncode == 1 and "needs --boot direct" in r.stderr
    r = cli("up", "-n", "2", "--icount", "5,7:3", dir=d)
    assert r.returncode == 1 and "node 7 is not in a 2-node cluster" in r.stderr
    r = cli("up", "-n", "0", dir=d)
    assert r.returncode == 2 and "must be positive" in r.stderr
    assert not os.path.exists(os.path.join(d, "cluster.json"))


def test_socket_path_too_long(cli):
    d = Path(__file__).resolve().parents[2] / "build" / ("x" * 100)
    r = cli("up", "-n", "1", dir=d)
    assert r.returncode == 1 and "too deep" in r.stderr
