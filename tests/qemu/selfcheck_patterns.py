"""selfcheck_patterns.py — not collected on its own (see its name):
test_harness.py runs it in a separate pytest to prove that a failure
pattern fails a test whose body passes and did not expect the pattern."""


def test_unexpected_exception(oneshot):
    run = oneshot("node=0 selftest=crash")
    assert run.status == 3
