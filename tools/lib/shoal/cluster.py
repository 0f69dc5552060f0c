"""cluster.py — starting, watching and stopping a cluster of QEMU nodes.

Interface:
  Cluster(directory)
    .up(cfg)             TFTP tree, vde_switch, N nodes; waits for every
                         ready line and console prompt; returns [Boot];
                         BootFailure (after
                         stopping what it started, unless keep=True)
    .start(node)         boots one node again (same config), waits: Boot
    .kill(node)          SIGKILL to one node's QEMU (a crash, for tests)
    .down()              stops every process it recorded: (nodes, switch)
    .status()            [NodeStatus]; .config(); .running()
    .http_ports()        {node: host port}: 127.0.0.1:port reaches node's
                         NIC0 port 80 (QEMU hostfwd)
    .console(node)       a Console for the node (not yet connected)
    .run(node, cmd)      (output, status) through the console
  Boot                   node, pid, seconds from QEMU's start to the ready line

Processes: QEMU and vde_switch run in their own sessions, so they outlive
the launcher and ignore the terminal's ^C. Their PIDs are kept in
cluster.json and in the pid files; before signalling a PID the launcher
checks in /proc/PID/cmdline that it still is the process it started (the
command line names this directory's socket), so a recycled PID is never hit.

Host ports: `up` asks the host kernel for a free loopback port per node
(bind to port 0), records them in cluster.json ("http_ports") and gives
each QEMU hostfwd=tcp:127.0.0.1:PORT-:80; `start` reuses the node's port.
So clusters of one or several users never share a port, with no fixed base.
The port is free when `up` picks it; another program could take it before
QEMU binds it, and then QEMU fails to start and `up` reports that.

With --link (cfg.link) `up` starts a second switch (vde2.ctl) for the upper
half of the nodes and a wirefilter between the two, both recorded in the
state ("vde2_pid", "wf_pid") and stopped by `down` like the first switch.

Locking: commands that start or stop processes hold cluster.lock (flock),
so two launchers on one directory take turns; `up` then sees the first
one's cluster and refuses.

A node is "up" when its QEMU runs and its current log holds the ready line.
Boot time is measured from spawning QEMU to seeing that line in the log
(the log is polled every 20 ms). up and start return only once the console
also answers: the kernel prints the ready line before it starts init, which
runs /etc/rc and then the shell, so they wait for the shell's prompt (or the
kernel monitor's, with init=monitor) after the ready line; a command typed
earlier would get the rc output and the shell's banner mixed into its own.
With init= naming another program there is no prompt to wait for.
"""

import contextlib
import dataclasses
import fcntl
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from . import BootFailure, NodeDown, ShoalError
from . import qemu
from .config import ClusterConfig, format_icount
from .console import (ANSI_RE, PROMPT_RE, READY_RE, Console, LogWatch, scan_console,
                      scan_qemu_log, tail)
from .layout import SUN_PATH_MAX, Layout

# GRUB's own prompt on a node's console: GRUB could not boot the kernel.
GRUB_GAVE_UP_RE = re.compile(r"^grub> ", re.M)

POLL = 0.02  # s between looks at the logs while nodes boot
TERM_GRACE = 3.0  # s a process gets after SIGTERM before SIGKILL
LOG_TAIL = 25  # lines of a failed node's log shown


def prompt_expected(cfg):
    """Whether the node's console program prints a prompt when it is ready:
    the default init (its shell) and the kernel monitor do."""
    inits = [w[5:] for w in cfg.append.split() if w.startswith("init=")]
    return not inits or inits[-1] in ("/bin/init", "monitor")


def default_timeout(nodes):
    """Seconds `up` waits for N nodes: PXE takes ~6 s per node under TCG,
    more when many nodes share two host cores."""
    return 40.0 + 5.0 * nodes


@dataclasses.dataclass
class Boot:
    node: int
    pid: int
    seconds: float


@dataclasses.dataclass
class NodeStatus:
    node: int
    pid: int  # None when not running
    state: str  # "up", "booting", "down"
    boot_seconds: float  # None if unknown
    uptime: float  # None if not running


def _pid_alive(pid, marker):
    """Whether pid runs and its command line contains marker (bytes)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # Field 3 after "(comm)" is the state; a zombie has exited.
    state = stat[stat.rfind(b")") + 2:][:1]
    return bool(cmdline) and state != b"Z" and marker in cmdline


def _reap(pid):
    """Collect pid's exit status if it is our child (tests start nodes
    in-process); harmless otherwise."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _read_pidfile(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def shown(path):
    """path relative to the current directory when it lies below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def free_ports(count):
    """count distinct loopback TCP ports that were free a moment ago. All
    sockets stay open until every port is known, so none repeats."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe(cfg):
    """"pxe boot, tcg, 256 MB[, icount 5,0:3]" for progress and status lines."""
    s = f"{cfg.boot} boot, {cfg.accel}, {cfg.mem} MB"
    if cfg.uses_icount():
        s += ", icount " + format_icount(cfg.icount_default, cfg.icount_nodes)
    if cfg.link:
        s += f", link {cfg.link} for nodes {cfg.nodes // 2}..{cfg.nodes - 1}"
    return s


def qemu_messages(text):
    """QEMU's stderr without the register dumps of -d cpu_reset."""
    keep = []
    dump = re.compile(r"^(CPU Reset \(CPU \d+\)|[A-Z][A-Z0-9]{1,4} ?=|FPR\d|XMM\d|YMM\d|"
                      r"[A-Z]{2,3}\s*=[0-9a-fA-F ]|EFER=|FCW=|Code=)")
    for line in text.splitlines():
        if line.strip() and not dump.match(line):
            keep.append(line)
    return "\n".join(keep)


class Cluster:
    def __init__(self, directory):
        self.lay = Layout(directory)
        self._procs = {}  # node -> Popen, for the QEMUs this process started

    # ------------------------------------------------------------ state
    def _load(self):
        try:
            with open(self.lay.state) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except ValueError as e:
            raise ShoalError(f"{self.lay.state} is damaged ({e}); remove the directory "
                             f"{self.lay.dir} after checking nothing runs from it") from None

    def _save(self, st):
        tmp = self.lay.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.lay.state)

    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(self.lay.dir, exist_ok=True)
        fd = os.open(self.lay.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def config(self):
        st = self._load()
        return ClusterConfig.from_dict(st["config"]) if st else None

    def _node_marker(self, node):
        return f"path={qemu.opt_path(self.lay.sock(node))},".encode()

    def _vde_marker(self):
        return self.lay.vde_ctl.encode()

    def _node_pid(self, st, node):
        rec = st["nodes"].get(str(node)) if st else None
        pid = rec.get("pid") if rec else None
        return pid or _read_pidfile(self.lay.pid(node))

    def node_alive(self, node, st=None):
        st = st if st is not None else self._load()
        return _pid_alive(self._node_pid(st, node), self._node_marker(node))

    def _vde_alive(self, st):
        pid = (st or {}).get("vde_pid") or _read_pidfile(self.lay.vde_pid)
        return _pid_alive(pid, self._vde_marker())

    def running(self):
        """Whether any process of this cluster still runs."""
        st = self._load()
        if st is None:
            return False
        n = st["config"]["nodes"]
        wf = _pid_alive(st.get("wf_pid") or _read_pidfile(self.lay.wf_pid),
                        self.lay.wf_pid.encode())
        return wf or self._vde_alive(st) or any(self.node_alive(i, st) for i in range(n))

    # ------------------------------------------------------------ up
    def up(self, cfg, keep=False, progress=None):
        """Start the cluster cfg describes and wait until every node is up."""
        cfg.validate()
        tools = (cfg.qemu, "vde_switch") + (("grub-mknetdir",) if cfg.boot == "pxe" else ())
        for tool in tools + (("wirefilter",) if cfg.link else ()):
            if not shutil.which(tool):
                raise ShoalError(f"{tool} not found; run tools/deps")
        if cfg.accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            raise ShoalError("--accel kvm: /dev/kvm is missing or not accessible")
        sock = self.lay.longest_socket(cfg.nodes)
        if len(sock) > SUN_PATH_MAX:
            raise ShoalError(f"cluster directory {self.lay.dir} is too deep: the socket path "
                             f"{sock} exceeds {SUN_PATH_MAX} bytes; use a shorter --dir")
        with self._locked():
            st = self._load()
            if st is not None:
                if self.running():
                    n = st["config"]["nodes"]
                    raise ShoalError(f"a cluster of {_plural(n, 'node')} is already running in "
                                     f"{self.lay.dir}; 'tools/cluster down' first")
                self._stop_all(st)  # stale state from a cluster that died
            self._prepare_tftp(cfg)
            self._prepare_disks(cfg, progress)
            ports = free_ports(cfg.nodes)
            st = {"config": cfg.to_dict(), "created": time.time(), "vde_pid": None, "nodes": {},
                  "http_ports": {str(n): p for n, p in enumerate(ports)}}
            self._save(st)
            try:
                st["vde_pid"] = self._start_vde(self.lay.vde_ctl, self.lay.vde_pid)
                self._save(st)
                if cfg.link:
                    st["vde2_pid"] = self._start_vde(self.lay.vde2_ctl, self.lay.vde2_pid)
                    self._save(st)
                    st["wf_pid"] = self._start_wirefilter(cfg)
                    self._save(st)
                if progress:
                    progress(f"cluster: starting {_plural(cfg.nodes, 'node')} "
                             f"({describe(cfg)}) in {shown(self.lay.dir)}")
                starts = {}
                for node in range(cfg.nodes):
                    starts[node] = self._spawn(cfg, st, node)
                boots = self._wait_ready(cfg, st, starts, cfg.timeout)
            except BaseException:
                if not keep:
                    self._stop_all(self._load())
                raise
            return boots

    def _prepare_tftp(self, cfg):
        """The TFTP root: GRUB's network image (made once per directory),
        per-node GRUB scripts, and copies of the kernel and root image that
        every node of this cluster boots, by PXE or directly."""
        boot = os.path.join(self.lay.tftp, "boot")
        os.makedirs(boot, exist_ok=True)
        if cfg.boot == "pxe":
            grubdir = os.path.join(boot, "grub")
            stamp = os.path.join(grubdir, "shoal-mknetdir.args")
            argv = qemu.grub_mknetdir_argv(self.lay.tftp)
            try:
                with open(stamp) as f:
                    fresh = f.read() == "\n".join(argv) and os.path.exists(
                        os.path.join(self.lay.tftp, qemu.BOOTFILE.lstrip("/")))
            except FileNotFoundError:
                fresh = False
            if not fresh:
                shutil.rmtree(grubdir, ignore_errors=True)
                r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
                if r.returncode != 0:
                    raise ShoalError(f"grub-mknetdir failed (status {r.returncode}):\n{r.stdout}")
                with open(stamp, "w") as f:
                    f.write("\n".join(argv))
            for node in range(cfg.nodes):
                with open(self.lay.grub_cfg(qemu.mac(node, 0)), "w") as f:
                    f.write(qemu.grub_cfg(cfg, node, self.lay))
            with open(os.path.join(grubdir, "grub.cfg"), "w") as f:
                f.write(qemu.grub_fallback_cfg())
        for src, dst in ((cfg.kernel, self.lay.kernel), (cfg.root, self.lay.root)):
            shutil.copyfile(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
        if cfg.boot == "pxe":
            with open(self.lay.root, "rb") as f, open(self.lay.root_gz + ".tmp", "wb") as g:
                g.write(gzip.compress(f.read(), compresslevel=6, mtime=0))
            os.replace(self.lay.root_gz + ".tmp", self.lay.root_gz)

    def _prepare_disks(self, cfg, progress=None):
        """Each node's persistent disk: made (empty ext2) when missing or
        with --fresh, otherwise kept as the node left it."""
        if not cfg.disk_mb:
            return
        if not shutil.which("mke2fs"):
            raise ShoalError("mke2fs not found; run tools/deps")
        made = []
        for node in range(cfg.nodes):
            path = self.lay.disk(node)
            if os.path.exists(path) and not cfg.fresh:
                continue
            _unlink(path)
            r = subprocess.run(qemu.mkdisk_argv(path + ".tmp", node, cfg.disk_mb),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                _unlink(path + ".tmp")
                raise ShoalError(f"mke2fs failed for {shown(path)} (status {r.returncode}):\n"
                                 f"{r.stdout}")
            os.replace(path + ".tmp", path)
            made.append(node)
        if made and progress:
            progress(f"cluster: made {_plural(len(made), 'empty disk')} of {cfg.disk_mb} MB "
                     f"(disk{made[0]}.img{'...' if len(made) > 1 else ''})")

    def _start_wirefilter(self, cfg):
        _unlink(self.lay.wf_pid)
        argv = qemu.wirefilter_argv(cfg, self.lay)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
        if r.returncode != 0:
            raise ShoalError(f"wirefilter failed (status {r.returncode}):\n{r.stdout}")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid = _read_pidfile(self.lay.wf_pid)
            if pid:
                return pid
            time.sleep(POLL)
        raise ShoalError(f"wirefilter wrote no pid file {self.lay.wf_pid} within 5 s")

    def _start_vde(self, ctl, pidfile):
        shutil.rmtree(ctl, ignore_errors=True)
        _unlink(pidfile)
        r = subprocess.run(["vde_switch", "-s", ctl, "-d", "-p", pidfile],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
        if r.returncode != 0:
            raise ShoalError(f"vde_switch failed (status {r.returncode}):\n{r.stdout}")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid = _read_pidfile(pidfile)
            if pid and os.path.exists(os.path.join(ctl, "ctl")):
                return pid
            time.sleep(POLL)
        raise ShoalError(f"vde_switch did not create {ctl}/ctl and its pid file within 5 s")

    def _spawn(self, cfg, st, node):
        """Start node's QEMU (its previous logs become *.1). Returns the
        monotonic start time."""
        for cur, old in ((self.lay.log(node), self.lay.old_log(node)),
                         (self.lay.qemu_log(node), self.lay.old_qemu_log(node))):
            if os.path.exists(cur):
                os.replace(cur, old)
        _unlink(self.lay.sock(node))
        _unlink(self.lay.pid(node))
        argv = qemu.node_argv(cfg, node, self.lay, st.get("http_ports", {}).get(str(node)))
        with open(self.lay.qemu_log(node), "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 cwd=self.lay.dir)
        t0 = time.monotonic()
        self._procs[node] = p
        st["nodes"][str(node)] = {"pid": p.pid, "started": time.time(), "boot_seconds": None}
        self._save(st)
        return t0

    def _exited(self, node, pid):
        """None while node's QEMU runs, else a description of its end."""
        p = self._procs.get(node)
        if p is not None and p.pid == pid:
            rc = p.poll()
            if rc is None:
                return None
            return f"QEMU exited with status {rc}" if rc >= 0 else f"QEMU killed by signal {-rc}"
        if _pid_alive(pid, self._node_marker(node)):
            return None
        return "QEMU exited"

    def _wait_ready(self, cfg, st, starts, timeout):
        """Wait for each node in starts ({node: t0}) to print its ready
        line, then its console prompt (see prompt_expected). Fails fast on
        a panic, exception, reboot, wrong node number, triple fault, GRUB's
        prompt (it could not boot) or QEMU's exit."""
        watches = {n: LogWatch(self.lay.log(n), from_start=True) for n in starts}
        texts = {n: "" for n in starts}
        pending = set(starts)
        boots = {}
        ready_at = {}
        prompt = prompt_expected(cfg)
        deadline = time.monotonic() + timeout
        next_qemu_check = 0.0
        while pending:
            now = time.monotonic()
            failures = {}
            check_qemu = now >= next_qemu_check
            if check_qemu:
                next_qemu_check = now + 0.5
            for n in sorted(pending):
                text, _ = watches[n].read_new()
                texts[n] += text
                pid = st["nodes"][str(n)]["pid"]
                problems = scan_console(texts[n])
                m = READY_RE.search(texts[n])
                if m and int(m.group(1)) != n:
                    problems.append(f"it says it is node {m.group(1)}")
                if not m and GRUB_GAVE_UP_RE.search(ANSI_RE.sub("", texts[n]).replace("\r", "")):
                    problems.append("GRUB could not boot the kernel (it fell back to its prompt)")
                if check_qemu:
                    problems += scan_qemu_log(self._read(self.lay.qemu_log(n)))
                if m and n not in ready_at:
                    ready_at[n] = now
                if problems:
                    failures[n] = problems[0]
                elif m and (not prompt or PROMPT_RE.search(texts[n], m.end())):
                    secs = ready_at[n] - starts[n]
                    boots[n] = Boot(n, pid, secs)
                    st["nodes"][str(n)]["boot_seconds"] = round(secs, 3)
                    pending.discard(n)
                else:
                    ended = self._exited(n, pid)
                    if ended:
                        # The last output may still be on its way to the log.
                        texts[n] += watches[n].read_new()[0]
                        failures[n] = ended
            if failures:
                self._save(st)
                raise BootFailure(self._failure_report(failures, pending - set(failures)))
            if pending and now > deadline:
                self._save(st)
                raise BootFailure(self._failure_report(
                    {n: (f"ready, but no console prompt within {timeout:g} s" if n in ready_at
                         else f"no ready line within {timeout:g} s") for n in sorted(pending)},
                    set()))
            if pending:
                time.sleep(POLL)
        self._save(st)
        return [boots[n] for n in sorted(boots)]

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _failure_report(self, failures, others, max_logs=2):
        nodes = sorted(failures)
        lines = []
        for n in nodes:
            lines.append(f"node {n} did not come up: {failures[n]}")
        if others:
            lines.append(f"(still booting: node{'s' if len(others) > 1 else ''} "
                         f"{', '.join(map(str, sorted(others)))})")
        for n in nodes[:max_logs]:
            log = self.lay.log(n)
            lines.append(f"--- last lines of {shown(log)} ---")
            lines.append(tail(self._read(log), LOG_TAIL) or "(nothing printed)")
            msgs = qemu_messages(self._read(self.lay.qemu_log(n)))
            if msgs:
                lines.append(f"--- QEMU's messages ({shown(self.lay.qemu_log(n))}) ---")
                lines.append(tail(msgs, 10))
        if len(nodes) > max_logs:
            lines.append(f"(logs of the other nodes in {shown(self.lay.dir)}/)")
        return "\n".join(lines)

    # ------------------------------------------------------------ one node
    def _check_node(self, st, node):
        if st is None:
            raise NodeDown(f"no cluster in {self.lay.dir} ('tools/cluster up' first)")
        n = st["config"]["nodes"]
        if not 0 <= node < n:
            raise ShoalError(f"no node {node} in the cluster in {self.lay.dir} "
                             f"(nodes 0..{n - 1})")

    def start(self, node, timeout=None):
        """Boot node again with the cluster's configuration and wait for it."""
        with self._locked():
            st = self._load()
            self._check_node(st, node)
            cfg = ClusterConfig.from_dict(st["config"])
            if self.node_alive(node, st):
                pid = self._node_pid(st, node)
                raise ShoalError(f"node {node} is already running (pid {pid}); "
                                 f"'tools/cluster kill {node}' first")
            if not self._vde_alive(st):
                raise ShoalError(f"the cluster's vde_switch is not running in {self.lay.dir}; "
                                 "'tools/cluster down' and 'up' again")
            t0 = self._spawn(cfg, st, node)
            return self._wait_ready(cfg, st, {node: t0},
                                    timeout if timeout is not None else default_timeout(1))[0]

    def kill(self, node):
        """End node's QEMU abruptly (SIGKILL), as a crashed machine."""
        with self._locked():
            st = self._load()
            self._check_node(st, node)
            pid = self._node_pid(st, node)
            if not self.node_alive(node, st):
                raise NodeDown(f"node {node} is not running")
            os.kill(pid, signal.SIGKILL)
            if not self._wait_gone([(pid, self._node_marker(node))], 5.0):
                raise ShoalError(f"node {node} (pid {pid}) did not die after SIGKILL")
            self._procs.pop(node, None)
            st["nodes"][str(node)]["pid"] = None
            self._save(st)
            _unlink(self.lay.pid(node))
            _unlink(self.lay.sock(node))
            return pid

    # ------------------------------------------------------------ down
    def down(self):
        """Stop every process of this cluster. Returns (nodes stopped,
        whether a switch was stopped); (0, False) when nothing ran."""
        with self._locked():
            return self._stop_all(self._load())

    def _wait_gone(self, procs, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for pid, _ in procs:
                _reap(pid)
            alive = [(p, m) for p, m in procs if _pid_alive(p, m)]
            if not alive:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL)

    def _stop(self, procs):
        """SIGTERM, then SIGKILL after a grace period, to those of procs
        [(pid, marker)] that still are the processes we started."""
        procs = [(p, m) for p, m in procs if _pid_alive(p, m)]
        for pid, _ in procs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(procs, TERM_GRACE):
            for pid, m in procs:
                if _pid_alive(pid, m):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self._wait_gone(procs, 5.0)
        return len(procs)

    def _stop_all(self, st):
        nodes = st["config"]["nodes"] if st else 0
        # Also what pid files name, in case the state file was lost.
        for name in os.listdir(self.lay.dir) if os.path.isdir(self.lay.dir) else []:
            m = re.fullmatch(r"node(\d+)\.pid", name)
            if m:
                nodes = max(nodes, int(m.group(1)) + 1)
        procs = []
        for n in range(nodes):
            for pid in {self._node_pid(st, n), _read_pidfile(self.lay.pid(n))}:
                if pid:
                    procs.append((pid, self._node_marker(n)))
        stopped = self._stop(procs)
        vde = 0
        # The wirefilter first: it is a client of both switches.
        for key, pidfile, marker in (("wf_pid", self.lay.wf_pid, self.lay.wf_pid),
                                     ("vde_pid", self.lay.vde_pid, self.lay.vde_ctl),
                                     ("vde2_pid", self.lay.vde2_pid, self.lay.vde2_ctl)):
            for pid in {(st or {}).get(key), _read_pidfile(pidfile)}:
                if pid:
                    vde += self._stop([(pid, marker.encode())])
        self._procs.clear()
        for n in range(nodes):
            _unlink(self.lay.pid(n))
            _unlink(self.lay.sock(n))
            _unlink(self.lay.console_lock(n))
        for path in (self.lay.vde_pid, self.lay.vde2_pid, self.lay.wf_pid):
            _unlink(path)
        for path in (self.lay.vde_ctl, self.lay.vde2_ctl):
            shutil.rmtree(path, ignore_errors=True)
        _unlink(self.lay.state)
        return stopped, vde > 0

    # ------------------------------------------------------------ status
    def status(self):
        st = self._load()
        if st is None:
            return None
        out = []
        now = time.time()
        for n in range(st["config"]["nodes"]):
            rec = st["nodes"].get(str(n), {})
            alive = self.node_alive(n, st)
            state = "down"
            if alive:
                state = "up" if READY_RE.search(self._read(self.lay.log(n))) else "booting"
            out.append(NodeStatus(
                node=n, pid=self._node_pid(st, n) if alive else None, state=state,
                boot_seconds=rec.get("boot_seconds") if alive else None,
                uptime=now - rec["started"] if alive and rec.get("started") else None))
        return out

    def http_ports(self):
        """{node: host port forwarded to its port 80}, {} with no cluster."""
        st = self._load()
        return {int(n): p for n, p in (st or {}).get("http_ports", {}).items()}

    def switch_pid(self):
        st = self._load()
        if st and self._vde_alive(st):
            return st.get("vde_pid") or _read_pidfile(self.lay.vde_pid)
        return None

    # ------------------------------------------------------------ consoles
    def console(self, node, holder=None):
        """node's Console, not yet connected; NodeDown if it does not run."""
        st = self._load()
        self._check_node(st, node)
        if not self.node_alive(node, st):
            raise NodeDown(f"node {node} is not up ('tools/cluster status'; "
                           f"'tools/cluster start {node}' boots it)")
        return Console(self.lay.sock(node), self.lay.console_lock(node), name=f"node {node}",
                       holder=holder)

    def run(self, node, cmd, timeout=30.0):
        with self.console(node) as con:
            return con.run(cmd, timeout)
