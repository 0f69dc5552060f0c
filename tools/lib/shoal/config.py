"""config.py — what a cluster is asked to be: ClusterConfig.

Interface:
  parse_icount(spec)        "SHIFT[,NODE:SHIFT...]" -> (default, {node: shift})
  format_icount(d, per)     the inverse, for status lines
  parse_link(spec)          "loss=5,delay=20" -> {"loss": 5.0, "delay": 20}
  ClusterConfig(...)        plain data; .validate() raises ShoalError with a
                            message naming the bad option; .shift(node) is the
                            icount shift of one node or None (free-running);
                            to_dict()/from_dict() for the state file.

Invariant: a validated config can be turned into QEMU command lines without
further checks (shoal.qemu relies on it). Pure: no files, no processes.
"""

import dataclasses
import os

from . import ShoalError

MAX_NODES = 256  # node=0..255, and the MAC's last byte
ICOUNT_MAX_SHIFT = 10  # QEMU's limit for -icount shift=N
BOOT_MODES = ("pxe", "direct")
ACCELS = ("tcg", "kvm")


def parse_icount(spec):
    """Parse --icount: "5" (every node), "5,0:3,2:4" (every node 5, node 0
    at 3, node 2 at 4) or "0:3" (only node 0 counts; the others run free).
    Returns (default_shift_or_None, {node: shift})."""
    default = None
    per_node = {}
    if spec is None or spec.strip() == "":
        raise ShoalError("--icount: empty; want SHIFT[,NODE:SHIFT...], e.g. 5 or 5,0:3")
    for i, item in enumerate(spec.split(",")):
        item = item.strip()
        if ":" in item:
            node_s, _, shift_s = item.partition(":")
            node = _int(node_s, "--icount: node number", item)
            if not 0 <= node < MAX_NODES:
                raise ShoalError(f"--icount: node {node} out of range 0..{MAX_NODES - 1}")
            if node in per_node:
                raise ShoalError(f"--icount: node {node} given twice")
            per_node[node] = _shift(shift_s, item)
        else:
            if i != 0:
                raise ShoalError(f"--icount: '{item}' is not NODE:SHIFT (a default SHIFT "
                                 "for every node may come first)")
            default = _shift(item, item)
    return default, per_node


# --link: wirefilter's impairments between the two switches (both ways).
# jitter=MS varies each frame's delay by up to +-MS and lets frames overtake
# each other (wirefilter -d DELAY+JITTER -N): reordering.
LINK_KEYS = {"loss": (float, 0, 100), "delay": (int, 0, 60000), "dup": (float, 0, 100),
             "band": (int, 1, 1 << 40), "jitter": (int, 1, 60000)}


def parse_link(spec):
    """Parse --link "loss=PCT,delay=MS[,dup=PCT][,band=BYTES_PER_S][,jitter=MS]"."""
    out = {}
    for item in spec.split(","):
        key, eq, val = item.strip().partition("=")
        if key not in LINK_KEYS or not eq:
            raise ShoalError(f"--link: '{item}' is not KEY=VALUE with KEY one of "
                             f"{', '.join(LINK_KEYS)}")
        kind, lo, hi = LINK_KEYS[key]
        try:
            v = kind(val)
        except ValueError:
            raise ShoalError(f"--link: {key}={val} is not a number") from None
        if not lo <= v <= hi:
            raise ShoalError(f"--link: {key} out of range {lo}..{hi}")
        out[key] = v
    if out.get("jitter", 0) > out.get("delay", 0):
        raise ShoalError("--link: jitter must not exceed delay (a frame's delay stays >= 0)")
    return out


def format_icount(default, per_node):
    parts = [] if default is None else [str(default)]
    parts += [f"{n}:{s}" for n, s in sorted(per_node.items())]
    return ",".join(parts)


def _int(text, what, item):
    text = text.strip()
    if not text.isdigit():
        raise ShoalError(f"{what} in '{item}' is not a number")
    return int(text)


def _shift(text, item):
    s = _int(text, "--icount: shift", item)
    if s > ICOUNT_MAX_SHIFT:
        raise ShoalError(f"--icount: shift {s} out of range 0..{ICOUNT_MAX_SHIFT}")
    return s


@dataclasses.dataclass
class ClusterConfig:
    nodes: int
    kernel: str
    root: str
    boot: str = "pxe"
    accel: str = "tcg"
    mem: int = 256
    icount_default: int = None
    icount_nodes: dict = dataclasses.field(default_factory=dict)
    append: str = ""
    append_nodes: dict = dataclasses.field(default_factory=dict)  # node -> more words (tests)
    timeout: float = 60.0
    disk_mb: int = 64  # each node's persistent disk (diskN.img), 0 = none
    fresh: bool = False  # make the disks anew even if they exist
    qemu: str = "qemu-system-x86_64"
    link: str = ""  # --link: two switches joined by wirefilter, e.g. "loss=5,delay=20"

    def switch_of(self, node):
        """0 or 1: the switch node's NIC1 is on. With --link the upper
        half (nodes N//2..N-1) is behind the wirefilter."""
        return 1 if self.link and node >= self.nodes // 2 else 0

    def shift(self, node):
        """The node's -icount shift, or None when it runs free."""
        return self.icount_nodes.get(node, self.icount_default)

    def uses_icount(self):
        return self.icount_default is not None or bool(self.icount_nodes)

    def validate(self, check_files=True):
        if not isinstance(self.nodes, int) or not 1 <= self.nodes <= MAX_NODES:
            raise ShoalError(f"-n: want 1..{MAX_NODES} nodes, not {self.nodes}")
        if self.boot not in BOOT_MODES:
            raise ShoalError(f"--boot: want one of {', '.join(BOOT_MODES)}, not '{self.boot}'")
        if self.accel not in ACCELS:
            raise ShoalError(f"--accel: want one of {', '.join(ACCELS)}, not '{self.accel}'")
        if not 32 <= self.mem <= 65536:
            raise ShoalError(f"--mem: want 32..65536 MB, not {self.mem}")
        if self.accel == "kvm" and self.boot == "pxe":
            raise ShoalError(
                "--accel kvm needs --boot direct: the PXE firmware (iPXE, GRUB) fails under "
                "this host's KVM; PXE boots use TCG")
        if self.accel == "kvm" and self.uses_icount():
            raise ShoalError("--icount needs --accel tcg (QEMU counts instructions only under TCG)")
        for node in self.icount_nodes:
            if node >= self.nodes:
                raise ShoalError(
                    f"--icount: node {node} is not in a {self.nodes}-node cluster "
                    f"(nodes 0..{self.nodes - 1})")
        if self.disk_mb != 0 and not 8 <= self.disk_mb <= 65536:
            raise ShoalError(f"--disk-mb: want 8..65536 MB (or 0 for no disk), not {self.disk_mb}")
        if self.timeout <= 0:
            raise ShoalError(f"--timeout: want a positive number of seconds, not {self.timeout}")
        for word in self.append.split():
            if word.startswith("node="):
                raise ShoalError("--append: node=N is set per node by the launcher")
        if self.link:
            parse_link(self.link)
            if self.nodes < 2:
                raise ShoalError("--link: needs at least 2 nodes (one on each switch)")
        if "\n" in self.append or '"' in self.append:
            raise ShoalError("--append: no quotes or newlines in kernel options")
        if check_files:
            for what, path in (("kernel", self.kernel), ("root image", self.root)):
                if not os.path.isfile(path):
                    hint = " (run make first)" if path.endswith(("build/shoal.elf",
                                                                 "build/root.img")) else ""
                    raise ShoalError(f"{what} {path} not found{hint}")

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["icount_nodes"] = {str(k): v for k, v in self.icount_nodes.items()}
        d["append_nodes"] = {str(k): v for k, v in self.append_nodes.items()}
        return d

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["icount_nodes"] = {int(k): v for k, v in d.get("icount_nodes", {}).items()}
        d["append_nodes"] = {int(k): v for k, v in d.get("append_nodes", {}).items()}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
