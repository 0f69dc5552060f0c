"""layout.py — the files of one cluster directory (default build/cluster).

  cluster.json        the state: config, PIDs, start and ready times
  cluster.lock        flock'd by commands that start or stop processes
  vde.ctl/            vde_switch's control directory; vde.pid its PID
  vde2.ctl/, vde2.pid with --link: the second switch (the upper half of the
                      nodes), joined to the first by wirefilter (wirefilter.pid)
  nodeN.pid           QEMU's -pidfile of node N
  nodeN.sock          node N's COM1 (QEMU is the server; one client at a time)
  nodeN.console.lock  flock'd by whoever is attached to nodeN.sock
  nodeN.log           everything node N printed on COM1 since its QEMU started
  nodeN.log.1         the same for the previous start (kept by `start N`)
  nodeN.qemu.log      QEMU's own messages (stderr, -d cpu_reset); .1 as above
  diskN.img           node N's persistent disk (ext2, virtio-blk, mounted at
                      /data); made on first use, kept across `down`/`up`
                      unless `up --fresh`
  tftp/               the TFTP root: GRUB's network image, the per-node
                      grub.cfg-01-<mac>, and boot/shoal.elf + boot/root.img,
                      the copies every node boots (also for --boot direct);
                      boot/root.img.gz is what GRUB fetches (it unpacks it)

Pure path arithmetic; nothing here touches the file system.
"""

import os

SUN_PATH_MAX = 107  # sockaddr_un.sun_path minus the terminating NUL

GRUB_SUBDIR = "/boot/grub"
BOOTFILE = GRUB_SUBDIR + "/i386-pc/core.0"


class Layout:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)

    def _p(self, name):
        return os.path.join(self.dir, name)

    @property
    def state(self):
        return self._p("cluster.json")

    @property
    def lock(self):
        return self._p("cluster.lock")

    @property
    def vde_ctl(self):
        return self._p("vde.ctl")

    @property
    def vde_pid(self):
        return self._p("vde.pid")

    @property
    def vde2_ctl(self):
        return self._p("vde2.ctl")

    @property
    def vde2_pid(self):
        return self._p("vde2.pid")

    @property
    def wf_pid(self):
        return self._p("wirefilter.pid")

    @property
    def tftp(self):
        return self._p("tftp")

    @property
    def kernel(self):
        return os.path.join(self.tftp, "boot", "shoal.elf")

    @property
    def root(self):
        return os.path.join(self.tftp, "boot", "root.img")

    @property
    def root_gz(self):
        return os.path.join(self.tftp, "boot", "root.img.gz")

    def grub_cfg(self, mac):
        return os.path.join(self.tftp, GRUB_SUBDIR.lstrip("/"),
                            "grub.cfg-01-" + mac.replace(":", "-"))

    def pid(self, node):
        return self._p(f"node{node}.pid")

    def sock(self, node):
        return self._p(f"node{node}.sock")

    def console_lock(self, node):
        return self._p(f"node{node}.console.lock")

    def log(self, node):
        return self._p(f"node{node}.log")

    def old_log(self, node):
        return self._p(f"node{node}.log.1")

    def qemu_log(self, node):
        return self._p(f"node{node}.qemu.log")

    def old_qemu_log(self, node):
        return self._p(f"node{node}.qemu.log.1")

    def disk(self, node):
        return self._p(f"disk{node}.img")

    def longest_socket(self, nodes):
        """The longest unix socket path the cluster will use."""
        return max(os.path.join(self.vde_ctl, "ctl"), self.sock(nodes - 1), key=len)
