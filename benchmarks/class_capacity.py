"""The largest class each hub carries: bench_class.py --sizes runs classes of growing size on
the same accounts and judges each against the class targets. A size passes when every learner
finished, a single cell's p95 is under 1 s and a single check's p95 under 500 ms; the first size
that fails ends the search for that hub (a larger class only loads the machine more)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from benchmarks.class_client import StepLog
from benchmarks.class_report import percentiles

CELL_P95_LIMIT = 1.0
CHECK_P95_LIMIT = 0.5


def available_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


class MemoryPeak:
    """The machine's memory in use at the class's peak, above what was in use before it
    (MemAvailable sampled every second and once at the end): the class's own footprint, page
    cache aside."""

    def __init__(self):
        self.before = available_bytes()
        self.lowest = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.lowest = min(self.lowest, available_bytes())

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.lowest = min(self.lowest, available_bytes())

    @property
    def used_bytes(self) -> int:
        return max(0, self.before - self.lowest)


@dataclass
class Verdict:
    size: int
    cell_p95: float | None
    check_p95: float | None
    failures: int
    memory_bytes: int = 0  # the class's peak footprint on the machine

    @property
    def passed(self) -> bool:
        return (
            self.failures == 0
            and self.cell_p95 is not None
            and self.cell_p95 < CELL_P95_LIMIT
            and self.check_p95 is not None
            and self.check_p95 < CHECK_P95_LIMIT
        )


def judge(size: int, logs: list[StepLog], memory_bytes: int = 0) -> Verdict:
    def p95(step: str) -> float | None:
        row = percentiles([t for log in logs for t in log.calls.get(step, [])])
        return row[1] if row else None

    failures = sum(1 for log in logs if log.failure is not None)
    return Verdict(size, p95("run cell"), p95("check"), failures, memory_bytes)


def largest(verdicts: list[Verdict]) -> int:
    """The largest size that passed before the first that failed (0: none passed)."""
    best = 0
    for verdict in verdicts:
        if not verdict.passed:
            break
        best = verdict.size
    return best


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_capacity(verdicts: dict[str, list[Verdict]]) -> None:
    print(
        f"\ncapacity: a class passes with no failure, a single cell's p95 < {CELL_P95_LIMIT:g} s"
        f" and a single check's p95 < {CHECK_P95_LIMIT * 1000:.0f} ms"
    )
    print("| hub | learners | cell p95 | check p95 | failures | MiB per learner | passed |")
    print("|---|---|---|---|---|---|---|")
    for kind, rows in verdicts.items():
        for v in rows:
            print(
                f"| {kind} | {v.size} | {_seconds(v.cell_p95)} | {_seconds(v.check_p95)} "
                f"| {v.failures} | {v.memory_bytes / v.size / 2**20:.0f} "
                f"| {'yes' if v.passed else 'no'} |"
            )
    best = {kind: largest(rows) for kind, rows in verdicts.items()}
    for kind, size in best.items():
        tried = max((v.size for v in verdicts[kind]), default=0)
        bound = "" if size < tried else " (the largest size tried: the limit may be higher)"
        print(f"{kind}: largest class {size}{bound}")
    if best.get("stock") and "sunaba" in best:
        print(f"capacity ratio sunaba / stock: {best['sunaba'] / best['stock']:.2f}")
