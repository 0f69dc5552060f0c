"""Host-side checks run by `make test`: the C unit tests and the style check.

Each tests/unit/test_*.c is one pytest test: it passes when its binary (built
with ASan and UBSan by `make unit-build`) exits 0 with no `not ok` line.
"""
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNIT_SOURCES = sorted((ROOT / "tests" / "unit").glob("test_*.c"))


@pytest.fixture(scope="session")
def unit_binaries():
    r = subprocess.run(["make", "-s", "-j2", "unit-build"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, "building the unit tests failed:\n" + r.stdout + r.stderr
    return ROOT / "build" / "unit"


@pytest.mark.parametrize("source", UNIT_SOURCES, ids=lambda p: p.stem)
def test_unit(unit_binaries, source):
    binary = unit_binaries / source.stem
    r = subprocess.run([str(binary)], capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    failed = [line for line in out.splitlines() if line.startswith("not ok")]
    ran = [line for line in out.splitlines() if line.startswith("ok ")]
    assert r.returncode == 0 and not failed, out
    assert ran, "no test case ran:\n" + out


def test_check_style():
    r = subprocess.run(["make", "-s", "check-style"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
