"""test_harness.py — the harness itself: a failure pattern on a console
fails a test that did not declare it, and the failing test's logs are kept."""

import os
import re
import subprocess
import sys

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_LOGS = REPO / "build" / "test-logs"


def test_failure_pattern_fails_an_unsuspecting_test(kernel):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, SHOAL_TEST_NO_BUILD="1", SHOAL_TEST_KERNEL=kernel[0])
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.join(here, "selfcheck_patterns.py")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                       cwd=REPO, timeout=120)
    assert r.returncode == 1, r.stdout
    assert re.search(r"^1 passed, .*1 error", r.stdout, re.M), r.stdout
    assert "failure patterns on the consoles" in r.stdout
    assert "exception: ======== SHOAL EXCEPTION: #PF page fault" in r.stdout
    kept = TEST_LOGS / "test_unexpected_exception"
    assert (kept / "oneshot0" / "oneshot0.log").exists()
    assert b"crash_deref+0x" in (kept / "oneshot0" / "oneshot0.log").read_bytes()
