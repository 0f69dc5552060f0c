"""conftest.py — fixtures of the QEMU integration tests.

Run: /usr/bin/python3 -m pytest tests/qemu   (from the repository root)

Test modules take everything from fixtures and import only the shoal
library (this file puts tools/lib on sys.path), never this file: pytest may
run them next to other directories' conftest.py files (tools/test-all).

The tests drive Shoal through the same library as tools/cluster
(tools/lib/shoal). Fixtures:

  kernel            session: runs `make -s all` once (SHOAL_TEST_NO_BUILD=1
                    skips it) and returns (build/shoal.elf, build/root.img);
                    $SHOAL_TEST_KERNEL tests another kernel file
  cluster4          module: a 4-node cluster, booted by $SHOAL_TEST_BOOT
                    (pxe by default), in build/test-cluster-shared
  make_cluster      a factory: make_cluster(name, nodes=1, boot=..., **cfg)
                    brings a cluster up in build/test-cluster-<name>
  module_cluster    the same factory, module-scoped: one boot shared by the
                    tests of a module (e.g. test_shell.py)
  oneshot           oneshot(append, timeout) boots one node directly with
                    isa-debug-exit and waits for QEMU to exit: (status, log)
  cli               cli(*args, dir=...) runs tools/cluster: CompletedProcess
  cluster_dir       cluster_dir(name) -> build/test-cluster-<name>
  workdir           the test's own scratch directory

Every cluster a fixture starts is stopped (down) at the end, passed or not,
and is "watched": after each test, what its nodes printed during the test
is scanned for the global failure patterns (SHOAL PANIC, SHOAL EXCEPTION, a
boot banner more than once per boot, QEMU's "Triple fault" or a CPU reset);
any hit fails the test at teardown. A test that expects one says so with
@pytest.mark.allow("exception", ...); cluster.expect_reboot(node) allows a
requested reboot (and the resets and triple fault the kernel may use for
it). Consoles raise at once on the same patterns.

A failing test leaves its logs (console, QEMU messages) in
build/test-logs/<test name>/. Waits are on output with timeouts; there are
no fixed ports (QEMU's user network needs none) and no sleeps.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "lib"))

from shoal.cluster import Cluster  # noqa: E402
from shoal.config import ClusterConfig  # noqa: E402
from shoal.console import LogWatch, count_banners, scan_console, scan_qemu_log, tail  # noqa: E402
from shoal import qemu  # noqa: E402

BUILD = REPO / "build"
TOOL = REPO / "tools" / "cluster"
TEST_LOGS = BUILD / "test-logs"
WORK = BUILD / "test-work"
BOOT = os.environ.get("SHOAL_TEST_BOOT", "pxe")
PY = "/usr/bin/python3"


def pytest_configure(config):
    config.addinivalue_line("markers", "allow(*names): failure patterns the test expects "
                            "(panic, exception, reboot, triple fault); see conftest.py")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]


# ---------------------------------------------------------------- watching
class Watched:
    """A cluster (or one log) whose output the tests check after each test."""

    def __init__(self, name, cluster=None, logs=None):
        self.name = name
        self.cluster = cluster
        self._logs = logs or {}  # label -> (console log, qemu log)
        self.console = {}
        self.qemu = {}
        self.boots_allowed = {}
        self.banners = {}
        self.resets = {}  # label -> [CPU resets seen, resets at start-up]
        self.done = False  # stopped: checked once more, then forgotten

    def logs(self):
        if self.cluster is not None:
            cfg = self.cluster.config()
            n = cfg.nodes if cfg else 0
            lay = self.cluster.lay
            return {f"node{i}": (lay.log(i), lay.qemu_log(i)) for i in range(n)}
        return self._logs

    def expect_reboot(self, node):
        label = f"node{node}"
        self.boots_allowed[label] = self.boots_allowed.get(label, 1) + 1

    def problems(self, allow):
        found = []
        for label, (con_log, qemu_log) in self.logs().items():
            if label not in self.console:
                self.console[label] = LogWatch(con_log, from_start=True)
                self.qemu[label] = LogWatch(qemu_log, from_start=True)
            text, replaced = self.console[label].read_new()
            if replaced:
                self.banners[label] = 0
                self.boots_allowed.pop(label, None)
            # Banners: counted over the whole life of this QEMU.
            self.banners[label] = self.banners.get(label, 0) + count_banners(text)
            for p in scan_console(text, allow=set(allow) | {"reboot"}):
                found.append(f"{self.name} {label}: {p}")
            if "reboot" not in allow and self.banners[label] > self.boots_allowed.get(label, 1):
                found.append(f"{self.name} {label}: reboot: {self.banners[label]} boot banners "
                             "without a requested reboot")
            qtext, qreplaced = self.qemu[label].read_new()
            # The kernel's last way to reboot is a triple fault.
            rebooting = label in self.boots_allowed
            for p in scan_qemu_log(qtext, set(allow) | ({"triple fault"} if rebooting else set())):
                found.append(f"{self.name} {label}: {p}")
            # CPU resets (-d cpu_reset): QEMU makes a few while it starts;
            # the count when we first look (the node is up) is the baseline.
            # Catches resets after which nothing boots (e.g. direct boot).
            # A requested reboot may reset more than once: banners count it.
            if qreplaced or label not in self.resets:
                self.resets[label] = [0, None]
            r = self.resets[label]
            r[0] += qtext.count("CPU Reset (CPU 0)")
            if r[1] is None:
                r[1] = r[0]
            elif "reboot" not in allow and not rebooting and r[0] > r[1]:
                found.append(f"{self.name} {label}: reboot: QEMU reset the machine "
                             f"{r[0] - r[1]} time(s) without a requested reboot")
        return found

    def save_logs(self, dest):
        for label, paths in self.logs().items():
            for p in paths:
                for f in (p, p + ".1"):
                    if os.path.exists(f):
                        d = dest / _safe(self.name)
                        d.mkdir(parents=True, exist_ok=True)
                        shutil.copy(f, d / os.path.basename(f))


_watched = []  # every Watched alive (module and function scoped)


@pytest.fixture(autouse=True)
def _failure_patterns(request):
    """Fail the test if a watched node printed a failure pattern during it,
    and keep the logs of failing tests."""
    dest = TEST_LOGS / _safe(request.node.name)
    shutil.rmtree(dest, ignore_errors=True)
    for w in _watched:
        w.problems(allow=("panic", "exception", "reboot", "triple fault"))  # skip older output
    yield
    marker = request.node.get_closest_marker("allow")
    allow = marker.args if marker else ()
    problems = [p for w in list(_watched) for p in w.problems(allow)]
    rep = getattr(request.node, "rep_call", None)
    if problems or (rep is not None and rep.failed):
        for w in _watched:
            w.save_logs(dest)
        wd = WORK / _safe(request.node.name)
        if wd.exists():
            shutil.copytree(wd, dest / "work", dirs_exist_ok=True)
    _watched[:] = [w for w in _watched if not w.done]
    if problems:
        pytest.fail("failure patterns on the consoles:\n" + "\n".join(problems) +
                    f"\n(logs in {dest.relative_to(REPO)})", pytrace=False)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def kernel():
    if not os.environ.get("SHOAL_TEST_NO_BUILD"):
        r = subprocess.run(["make", "-s", "all"], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            pytest.fail(f"make failed:\n{tail(r.stdout, 30)}", pytrace=False)
    k = Path(os.environ.get("SHOAL_TEST_KERNEL", BUILD / "shoal.elf"))
    r = BUILD / "root.img"
    for f in (k, r):
        if not f.exists():
            pytest.fail(f"{f} missing", pytrace=False)
    return str(k), str(r)


@pytest.fixture
def workdir(request):
    d = WORK / _safe(request.node.name)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def cluster_dir(name):
    return BUILD / f"test-cluster-{_safe(name)[:40]}"


@pytest.fixture(name="cluster_dir")
def cluster_dir_fixture():
    """cluster_dir(name): build/test-cluster-<name>, for tests that run
    tools/cluster themselves (they must `down` it when done)."""
    return cluster_dir


def start_cluster(name, kernel, nodes, boot, **kw):
    """A watched, running cluster in build/test-cluster-<name>."""
    c = Cluster(str(cluster_dir(name)))
    c.down()  # whatever a killed earlier run left there
    k, r = kernel
    cfg = ClusterConfig(nodes=nodes, kernel=kw.pop("kernel", k), root=kw.pop("root", r),
                        boot=boot, **kw)
    w = Watched(name, cluster=c)
    _watched.append(w)
    try:
        c.up(cfg)
    except BaseException:
        w.done = True
        c.down()
        raise
    c.watched = w
    c.expect_reboot = w.expect_reboot
    return c


def stop_cluster(c):
    c.down()
    c.watched.done = True


@pytest.fixture(scope="module")
def cluster4(kernel):
    c = start_cluster("shared", kernel, 4, BOOT)
    yield c
    stop_cluster(c)


def _cluster_factory(kernel):
    made = []

    def make(name, nodes=1, boot=BOOT, **kw):
        c = start_cluster(name, kernel, nodes, boot, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        stop_cluster(c)


@pytest.fixture
def make_cluster(kernel):
    yield from _cluster_factory(kernel)


@pytest.fixture(scope="module")
def module_cluster(kernel):
    yield from _cluster_factory(kernel)


@pytest.fixture
def cli():
    def run(*args, dir=None, timeout=120):
        argv = [str(TOOL)] + ([f"--dir={dir}"] if dir else []) + [str(a) for a in args]
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, cwd=REPO)
    return run


class Oneshot:
    def __init__(self, status, log):
        self.status = status
        self.log = log


@pytest.fixture
def oneshot(kernel, workdir):
    """Boot one node directly with isa-debug-exit; wait for QEMU to exit."""
    procs = []

    def boot(append, timeout=60):
        n = len(procs)
        con_log = str(workdir / f"oneshot{n}.log")
        qemu_log = str(workdir / f"oneshot{n}.qemu.log")
        w = Watched(f"oneshot{n}", logs={"node0": (con_log, qemu_log)})
        _watched.append(w)
        argv = qemu.oneshot_argv(kernel[0], kernel[1], append, con_log)
        with open(qemu_log, "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err,
                                 stderr=subprocess.STDOUT)
        procs.append((p, w))
        try:
            status = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            with open(con_log, "rb") as f:
                text = f.read().decode(errors="replace")
            pytest.fail(f"QEMU ({append}) did not exit within {timeout} s; console:\n"
                        f"{tail(text, 20)}", pytrace=False)
        with open(con_log, "rb") as f:
            return Oneshot(status, f.read().decode(errors="replace").replace("\r\n", "\n"))
    yield boot
    for p, w in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
        w.done = True


def _cluster_ready(c, nodes, loads=False, timeout=40):
    """Wait until node 0 of cluster c sees its nodes - 1 peers up and, with
    loads, has heard every node's load (its window fills with one message
    a second from a random node: what a cluster up a few seconds knows)."""
    files = "/proc/cluster/node/*/status" + (" /proc/cluster/node/*/load" if loads else "")
    with c.console(0) as con:
        t0 = time.monotonic()
        while True:
            out, _ = con.run(f"cat {files}")
            words = out.split()
            if words.count("up") == nodes - 1 and (
                    not loads or ("-" not in words and len(words) == 2 * nodes)):
                return
            assert time.monotonic() - t0 < timeout, out
            time.sleep(0.3)


@pytest.fixture(scope="session")
def cluster_ready():
    """_cluster_ready, for the load-balancing tests' clusters."""
    return _cluster_ready
