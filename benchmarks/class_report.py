"""The table bench_class.py prints: p50 / p95 / max of each step on Sunaba and on the stock hub,
the p95 ratio, then every failure with its message. Steps a learner repeats (a cell, a check)
get two rows: each learner's total, and every single call (what the class targets are about)."""

from __future__ import annotations

import statistics

from benchmarks.class_client import StepLog

# Steps with a row per single call besides the learner's total.
REPEATED = ("run cell", "check")
STEPS = [
    "login",
    "server ready",
    "open lab",
    "fetch",
    "open notebook",
    "start kernel",
    "load dataset",
    "run cell",
    "check",
    "hint",
    "save",
    "submit",
    "logout",
]


def percentiles(times: list[float]) -> tuple[float, float, float] | None:
    if not times:
        return None
    done = sorted(times)
    p95 = done[min(len(done) - 1, round(0.95 * (len(done) - 1)))]
    return statistics.median(done), p95, done[-1]


def _cells(row) -> str:
    return " | ".join(f"{value:.2f}" for value in row) if row else "n/a | n/a | n/a"


def _line(label: str, rows: dict, kinds: list[str], ratio: bool) -> str:
    line = f"| {label} | " + " | ".join(_cells(rows[k]) for k in kinds) + " |"
    if ratio:
        both = rows["sunaba"] and rows["stock"]
        line += f" {rows['sunaba'][1] / rows['stock'][1]:.2f} |" if both else " n/a |"
    return line


def print_report(results: dict[str, list[StepLog]]) -> None:
    kinds = [k for k in ("sunaba", "stock") if k in results]
    if not kinds:
        return
    print(
        "\nclass: seconds per step per learner (run cell / check: the learner's total; "
        "(each): every single call)"
    )
    header = " | ".join(f"{k} p50 | {k} p95 | {k} max" for k in kinds)
    ratio = len(kinds) == 2
    print(f"| step | {header} |" + (" p95 ratio |" if ratio else ""))
    print("|---" * (1 + 3 * len(kinds) + ratio) + "|")
    for step in STEPS:
        rows = {
            k: percentiles([log.times[step] for log in results[k] if step in log.times])
            for k in kinds
        }
        print(_line(step, rows, kinds, ratio))
        if step in REPEATED:
            each = {
                k: percentiles([t for log in results[k] for t in log.calls.get(step, [])])
                for k in kinds
            }
            print(_line(f"{step} (each)", each, kinds, ratio))
    for kind in kinds:
        logs = results[kind]
        finished = sum(1 for log in logs if log.failure is None)
        print(f"{kind}: {finished}/{len(logs)} learners finished")
        for log in logs:
            if log.failure:
                print(f"  failed {kind} {log.learner} at {log.failure[0]}: {log.failure[1]}")
