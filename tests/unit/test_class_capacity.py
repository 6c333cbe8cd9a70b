"""The capacity verdicts of bench_class.py --sizes: what makes a class size pass."""

from benchmarks.class_capacity import MemoryPeak, judge, largest
from benchmarks.class_client import StepLog


def _log(name: str, cells: list[float], checks: list[float], failure=None) -> StepLog:
    log = StepLog(name)
    log.calls = {"run cell": cells, "check": checks}
    log.failure = failure
    return log


def test_a_class_passes_with_fast_cells_and_checks_and_no_failure():
    logs = [_log(f"l{i}", [0.1, 0.2, 0.3], [0.05, 0.1]) for i in range(10)]
    verdict = judge(10, logs)
    assert verdict.passed
    assert verdict.cell_p95 == 0.3
    assert verdict.check_p95 == 0.1


def test_one_slow_tail_fails_the_class():
    logs = [_log(f"l{i}", [0.1] * 9 + [1.5], [0.05]) for i in range(10)]
    assert judge(10, logs).cell_p95 == 1.5
    assert not judge(10, logs).passed
    slow_checks = [_log(f"l{i}", [0.1], [0.6, 0.7]) for i in range(10)]
    assert not judge(10, slow_checks).passed


def test_one_failed_learner_fails_the_class():
    logs = [_log("a", [0.1], [0.1]), _log("b", [0.1], [0.1], failure=("login", "HTTP 500"))]
    verdict = judge(2, logs)
    assert verdict.failures == 1
    assert not verdict.passed


def test_a_class_where_nobody_reached_a_cell_does_not_pass():
    assert not judge(3, [_log(str(i), [], [], failure=("login", "x")) for i in range(3)]).passed
    assert not judge(1, [_log("a", [], [])]).passed


def test_the_largest_size_is_the_last_that_passed_before_the_first_failure():
    ok = [_log("a", [0.1], [0.1])]
    bad = [_log("a", [2.0], [0.1])]
    verdicts = [judge(30, ok), judge(60, ok), judge(90, bad)]
    assert largest(verdicts) == 60
    assert largest([judge(30, bad)]) == 0
    assert largest([]) == 0


def test_the_memory_peak_sees_memory_taken_during_the_class():
    with MemoryPeak() as peak:
        block = bytearray(512 * 2**20)
        for offset in range(0, len(block), 4096):  # touch every page
            block[offset] = 1
    del block
    assert peak.used_bytes > 256 * 2**20
