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


def test_syscall_table_doc_current():
    """docs/architecture.md's system-call table is generated from
    kern/syscall_table.h and the handlers' files; it must be current."""
    r = subprocess.run([str(ROOT / "tools" / "syscalls-doc"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_tools_cc_builds_a_static_program(tmp_path):
    """tools/cc turns a C file into a static x86_64 binary (musl)."""
    import shutil
    if not shutil.which("musl-gcc"):
        pytest.skip("musl-gcc missing (tools/deps installs musl-tools)")
    src = tmp_path / "prog.c"
    src.write_text('#include <stdio.h>\nint main(void) { puts("built"); return 3; }\n')
    r = subprocess.run([str(ROOT / "tools" / "cc"), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "prog"
    head = out.read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and head[18] == 62  # EM_X86_64
    run = subprocess.run([str(out)], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (3, "built\n")
    assert b".interp" not in out.read_bytes(), "not a static program"
    r = subprocess.run([str(ROOT / "tools" / "cc")], capture_output=True, text=True)
    assert r.returncode == 2 and "no input files" in r.stderr
