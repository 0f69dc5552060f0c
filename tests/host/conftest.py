"""conftest.py — what the host tests share: building user programs
(user/NAME.c) for Linux with tools/cc (musl-gcc), in parallel."""

import concurrent.futures
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def build_programs(tmp_path_factory):
    """build(label, names) -> a directory holding each user/NAME.c built
    for the host; a program that does not build fails the test."""
    def build(label, names):
        out = tmp_path_factory.mktemp(f"{label}-bin")

        def one(name):
            return name, subprocess.run(
                [str(ROOT / "tools" / "cc"), "-Werror", "-o", str(out / name),
                 str(ROOT / "user" / f"{name}.c")],
                capture_output=True, text=True)

        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
            results = list(ex.map(one, names))
        failed = [f"{n}:\n{r.stderr}" for n, r in results if r.returncode]
        assert not failed, "build failed:\n" + "\n".join(failed)
        return out
    return build
