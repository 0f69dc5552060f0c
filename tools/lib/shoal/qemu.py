"""qemu.py — QEMU command lines and GRUB configuration for Shoal nodes.

Interface (pure functions of a validated ClusterConfig and a Layout):
  mac(node, nic)              52:54:00:00:0<nic>:<node in hex>
  kernel_cmdline(cfg, node)   "node=N" + --append words + that node's own
  node_argv(cfg, node, lay, http_port)
                              the full qemu-system-x86_64 argv of one node;
                              http_port (or None) is the host loopback port
                              forwarded to the node's NIC0 port 80
  grub_cfg(cfg, node, lay)    the text of node N's grub.cfg-01-<mac>
  wirefilter_argv(cfg, lay)   the wirefilter between the two switches (--link)
  oneshot_argv(...)           one direct-boot node with isa-debug-exit and
                              its console in a file, for self-test runs

Every node has the same hardware (design §1):
  NIC0  e1000 on QEMU user networking: DHCP + TFTP, so iPXE (the e1000's
        default option ROM) boots GRUB's network image from the cluster's
        TFTP tree. Under --boot direct its ROM is dropped (qboot runs none).
        hostfwd makes 127.0.0.1:http_port on the host reach the node's
        10.0.2.15:80 (the launcher picks a free port per node at `up`).
  NIC1  virtio-net on the VDE switch, the interconnect; romfile= keeps
        iPXE off it (iPXE would also grab a second e1000).
        With --link, nodes N//2.. are on a second switch (vde2.ctl) that
        wirefilter_argv's wirefilter joins to the first.
  disk  diskN.img as virtio-blk (vda), unless --disk-mb 0.
  COM1  a unix socket server (wait=off: the node runs with no client) with
        a log file of everything printed, whoever is attached.
-d cpu_reset makes QEMU report resets and "Triple fault" on stderr, which
the launcher keeps in nodeN.qemu.log and the tests scan.
"""

from .config import parse_link
from .layout import BOOTFILE

QBOOT = "/usr/share/qemu/qboot.rom"
GRUB_PLATFORM_DIR = "/usr/lib/grub/i386-pc"
# GRUB modules the per-node grub.cfg needs, preloaded into core.0 so GRUB
# fetches no module over TFTP, and the only ones installed in the tree.
GRUB_MODULES = ("normal", "multiboot2", "serial", "terminal", "echo", "gzio")
DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=0x04"


def mac(node, nic):
    """NIC0 (boot/management) is 52:54:00:00:00:NN, NIC1 (interconnect)
    52:54:00:00:01:NN, NN = the node number in hex."""
    return f"52:54:00:00:{nic:02x}:{node:02x}"


def opt_path(path):
    """A path inside a QEMU -option key=value list (commas double)."""
    return path.replace(",", ",,")


def kernel_cmdline(cfg, node):
    return " ".join([f"node={node}"] + cfg.append.split()
                    + cfg.append_nodes.get(node, "").split())


def hostfwd(http_port):
    """The -netdev user option that forwards host 127.0.0.1:http_port to
    the guest's port 80, or "" when there is no port."""
    return f",hostfwd=tcp:127.0.0.1:{http_port}-:80" if http_port else ""


def node_argv(cfg, node, lay, http_port=None):
    shift = cfg.shift(node)
    argv = [
        cfg.qemu,
        "-name", f"shoal-node{node}",
        "-M", "pc",
        "-accel", cfg.accel,
        "-m", str(cfg.mem),
        "-display", "none",
        "-monitor", "none",
        "-parallel", "none",
        "-pidfile", lay.pid(node),
        "-d", "cpu_reset",
        "-chardev", (f"socket,id=ser0,path={opt_path(lay.sock(node))},server=on,wait=off,"
                     f"logfile={opt_path(lay.log(node))}"),
        "-serial", "chardev:ser0",
    ]
    if shift is not None:
        argv += ["-icount", f"shift={shift},align=on"]
    if cfg.boot == "pxe":
        argv += [
            "-boot", "n",
            "-netdev", (f"user,id=n0,tftp={opt_path(lay.tftp)},bootfile={BOOTFILE}"
                        + hostfwd(http_port)),
            "-device", f"e1000,netdev=n0,mac={mac(node, 0)}",
        ]
    else:
        argv += [
            "-bios", QBOOT,
            "-kernel", lay.kernel,
            "-initrd", lay.root,
            "-append", kernel_cmdline(cfg, node),
            "-netdev", "user,id=n0" + hostfwd(http_port),
            "-device", f"e1000,netdev=n0,mac={mac(node, 0)},romfile=",
        ]
    ctl = lay.vde2_ctl if cfg.switch_of(node) else lay.vde_ctl
    argv += [
        "-netdev", f"vde,id=n1,sock={opt_path(ctl)}",
        "-device", f"virtio-net-pci,netdev=n1,mac={mac(node, 1)},romfile=",
    ]
    if cfg.disk_mb:
        argv += [
            "-drive", f"file={opt_path(lay.disk(node))},if=none,format=raw,id=d0",
            "-device", "virtio-blk-pci,drive=d0",
        ]
    return argv


def wirefilter_argv(cfg, lay):
    """wirefilter between the two switches of a --link cluster, as a
    daemon with a pid file (cfg.link validated)."""
    flags = {"loss": "-l", "delay": "-d", "dup": "-D", "band": "-b"}
    argv = ["wirefilter", "-v", f"{lay.vde_ctl}:{lay.vde2_ctl}"]
    link = parse_link(cfg.link)
    jitter = link.pop("jitter", 0)
    for key, val in link.items():
        argv += [flags[key], f"{val}+{jitter}" if key == "delay" and jitter else str(val)]
    if jitter:
        argv.append("-N")  # no FIFO: a frame with less delay overtakes
    return argv + ["--daemon", "--pidfile", lay.wf_pid]


def mkdisk_argv(path, node, mb):
    """mke2fs command that makes node's empty ext2 disk of mb MiB."""
    return ["mke2fs", "-q", "-F", "-t", "ext2", "-L", f"data{node}", path, f"{mb}M"]


def grub_cfg(cfg, node, lay):
    """Node N's GRUB script: console on COM1 (so GRUB's errors reach the
    node's log), then the kernel with node=N and the root image as the
    multiboot2 module named `root`. The paths are TFTP paths. The root
    image travels gzipped (GRUB's gzio unpacks it): a mostly empty 4 MB
    image is a few KB, which saves ~1.3 s of TFTP per node under TCG."""
    return (
        f"# Shoal node {node} ({mac(node, 0)}), written by tools/cluster up\n"
        "serial --unit=0 --speed=115200\n"
        "terminal_input serial\n"
        "terminal_output serial\n"
        f"echo \"grub: node {node}: multiboot2 /boot/shoal.elf\"\n"
        f"multiboot2 /boot/shoal.elf {kernel_cmdline(cfg, node)}\n"
        "module2 /boot/root.img.gz root\n"
        "boot\n"
    )


def grub_fallback_cfg():
    """grub.cfg for a MAC with no per-node file: say so on the console."""
    return (
        "# Read only when no grub.cfg-01-<mac> matches (written by tools/cluster up)\n"
        "serial --unit=0 --speed=115200\n"
        "terminal_input serial\n"
        "terminal_output serial\n"
        "echo \"grub: no per-node grub.cfg for MAC $net_default_mac; not a Shoal node\"\n"
    )


def grub_mknetdir_argv(tftp):
    mods = " ".join(GRUB_MODULES)
    return ["grub-mknetdir", f"--net-directory={tftp}", "--subdir=/boot/grub",
            "-d", GRUB_PLATFORM_DIR, f"--modules={mods}", f"--install-modules={mods}",
            "--fonts=", "--themes=", "--locales="]


def oneshot_argv(kernel, root, append, console_log, accel="tcg", mem=256,
                 qemu="qemu-system-x86_64", debug_exit=True):
    """One node booted directly with no NICs, COM1 into a file, for runs
    that end by themselves (self-tests leave through isa-debug-exit: QEMU's
    status is 1 when all passed, 3 otherwise). -no-reboot turns a reset
    into an exit, so a triple fault ends the run instead of looping."""
    argv = [
        qemu, "-M", "pc", "-accel", accel, "-m", str(mem),
        "-bios", QBOOT, "-kernel", kernel, "-initrd", root, "-append", append,
        "-nic", "none", "-display", "none", "-monitor", "none", "-parallel", "none",
        "-chardev", f"file,id=ser0,path={opt_path(console_log)}", "-serial", "chardev:ser0",
        "-d", "cpu_reset", "-no-reboot",
    ]
    if debug_exit:
        argv += ["-device", DEBUG_EXIT]
    return argv
