"""The load balancer's user programs (cpuhog, randwork, spawn, mon) on the host.

They are static Linux binaries built with tools/cc, so what does not need
Shoal's /proc/cluster runs here: cpuhog's and randwork's checksums (the
same duration gives the same checksum in both), randwork's draw over many
seeds, spawn's `%i`, exit statuses (exit code, 128 + signal, 127 and a
message for a failed exec) and report lines, where Linux has no
/proc/PID/where (nodes `-`); and the usage conventions of all four. The
QEMU side (moves, --static placement, mon's frame) is in
tests/qemu/test_balance_progs.py. Skipped without musl-gcc.
"""
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS = ["cpuhog", "randwork", "spawn", "mon"]

pytestmark = pytest.mark.skipif(shutil.which("musl-gcc") is None,
                                reason="musl-gcc not installed (tools/deps)")


@pytest.fixture(scope="module")
def bindir(build_programs):
    return build_programs("lbprogs", PROGRAMS)


@pytest.fixture
def run(bindir):
    def run(prog, *args):
        return subprocess.run([str(bindir / prog), *map(str, args)],
                              capture_output=True, text=True, timeout=60,
                              env={"PATH": f"{bindir}:/usr/bin:/bin"})
    return run


@pytest.mark.parametrize("prog", PROGRAMS)
def test_usage(run, prog):
    r = run(prog, "--help")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith(f"usage: {prog}")
    r = run(prog, "-Z", "x", "y")
    assert r.returncode == 2
    assert r.stderr.startswith(f"{prog}: ") and f"usage: {prog}" in r.stderr


CHECKSUM = re.compile(r"checksum ([0-9a-f]{16})\n")


def test_cpuhog(run):
    r = run("cpuhog", "0.2")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"cpuhog: 0\.2 s of work, checksum ([0-9a-f]{16})\n",
                     r.stdout)
    assert m, r.stdout
    assert run("cpuhog", "0.200").stdout == r.stdout  # deterministic
    assert run("cpuhog", "0.201").stdout != r.stdout
    assert run("cpuhog", "3").stdout.startswith("cpuhog: 3 s of work")
    for bad in ["", "x", "-1", "1.2345", "1.", ".5", "1000001", "1 2"]:
        r = run("cpuhog", *bad.split(" ")) if bad else run("cpuhog")
        assert r.returncode == 2, bad
        assert r.stderr.startswith("cpuhog: "), r.stderr


def test_randwork(run):
    r = run("randwork", "7", "2")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"randwork: seed 7: (\d+(?:\.\d+)?) s, checksum "
                     r"([0-9a-f]{16})\n", r.stdout)
    assert m, r.stdout
    assert run("randwork", "7", "2").stdout == r.stdout
    # The same duration gives cpuhog's checksum.
    hog = run("cpuhog", m.group(1)).stdout
    assert CHECKSUM.search(hog).group(1) == m.group(2)
    # Durations spread over 0..MAXSEC (to the ms) for consecutive seeds.
    ds = [float(run("randwork", s, "0.1").stdout.split()[3])
          for s in range(40)]
    assert all(0 <= d <= 0.1 for d in ds)
    assert len(set(ds)) > 30
    assert min(ds) < 0.03 and max(ds) > 0.07
    r = run("randwork", "18446744073709551615", "0")
    assert r.stdout.startswith("randwork: seed 18446744073709551615: 0 s")
    for args in [[], ["1"], ["x", "1"], ["18446744073709551616", "1"],
                 ["1", "y"], ["1", "2", "3"]]:
        assert run("randwork", *args).returncode == 2, args


LINE = re.compile(r"spawn: copy (\d+) pid (\d+|-) exit (\d+) nodes (\S+) "
                  r"(\d+\.\d\d) s")


def test_spawn(run):
    r = run("spawn", "-n", "3", "sh", "-c", "echo out $0; exit $0", "%i")
    assert r.returncode == 1  # copies 1 and 2 exit non-zero
    out = r.stdout.splitlines()
    assert sorted(out[:3]) == ["out 0", "out 1", "out 2"]
    copies = [LINE.fullmatch(l) for l in out[3:6]]
    assert all(copies), out
    assert [(c[1], c[3], c[4]) for c in copies] == \
        [("0", "0", "-"), ("1", "1", "-"), ("2", "2", "-")]
    assert re.fullmatch(r"spawn: 3 copies in \d+\.\d\d s", out[6])
    # %i is replaced only as a whole word; -- ends spawn's options.
    r = run("spawn", "--", "echo", "%i", "x%i")
    assert r.returncode == 0 and r.stdout.startswith("0 x%i\n")
    # Killed by a signal: 128 + its number.
    r = run("spawn", "sh", "-c", "kill -TERM $$")
    assert LINE.match(r.stdout)[3] == "143"


def test_spawn_timing(run):
    r = run("spawn", "-n", "2", "sleep", "0.3")
    assert r.returncode == 0, r.stderr
    times = [float(LINE.fullmatch(l)[5]) for l in r.stdout.splitlines()[:2]]
    assert all(0.29 <= t < 1.5 for t in times), times
    total = float(r.stdout.splitlines()[2].split()[4])
    assert 0.29 <= total < 1.5


def test_spawn_exec_failure(run):
    r = run("spawn", "-n", "2", "/nonexistent/prog", "%i")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "spawn: copy 0: /nonexistent/prog: No such file or directory",
        "spawn: copy 1: /nonexistent/prog: No such file or directory"]
    copies = [LINE.fullmatch(l) for l in r.stdout.splitlines()[:2]]
    assert [c[3] for c in copies] == ["127", "127"]


def test_spawn_usage_and_linux(run):
    for args in [[], ["-n"], ["-n", "0", "x"], ["-n", "4097", "x"],
                 ["-n", "2x", "x"], ["--bogus", "x"]]:
        r = run("spawn", *args)
        assert r.returncode == 2, args
        assert "usage: spawn" in r.stderr
    # --static needs /proc/cluster, which Linux lacks.
    r = run("spawn", "--static", "true")
    assert r.returncode == 1
    assert r.stderr == ("spawn: /proc/cluster/node: No such file or "
                        "directory\n")


def test_mon_without_cluster(run):
    for args in [["--once"], []]:
        r = run("mon", *args)
        assert r.returncode == 1
        assert r.stderr == ("mon: /proc/cluster/node: No such file or "
                            "directory\n")
    assert run("mon", "extra").returncode == 2
