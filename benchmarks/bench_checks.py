"""Benchmark: an instant check round trip for a 10,000-row DataFrame.

Run with `python benchmarks/bench_checks.py` as root (it starts a real hub with a learner in a
sandbox). In the learner's kernel it times `check("big", df)`: Arrow encoding, the call to the
check service with the learner's token, the hub's token check, judging against the grader and
the answer. The stock alternative is what nbgrader notebooks do today: a visible test cell
comparing in the kernel (`pandas.testing.assert_frame_equal` against an expected frame that sits
in the notebook, where learners can read it). Prints p50 and p95 of both and their ratio. No
assertion: the figures are for reading.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.checks import run_in_kernel  # noqa: E402
from tests.support.hub import SunabaHub  # noqa: E402

ROUNDS = 60
ROWS = 10_000
FRAME = f"""
import numpy as np
import pandas as pd
rng = np.random.default_rng(7)
frame = pd.DataFrame({{
    "市区町村コード": np.arange({ROWS}),
    "人口": rng.integers(100, 100_000, {ROWS}),
    "面積": rng.random({ROWS}) * 100,
    "区分": rng.choice(["市", "町", "村"], {ROWS}),
}})
"""
GRADER = f"""
from sunaba.checks.grader import Question


def expected():
{textwrap.indent(FRAME, "    ")}
    return frame


QUESTIONS = [Question("big", expected=expected, rel_tol=1e-9)]
"""
KERNEL = f"""
import os, time
from IPython.utils.capture import capture_output
from sunaba.checks import check, set_exercise
{FRAME}
expected = frame.copy()
set_exercise("bench", "ex01")
def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return sorted(times)
with capture_output() as shown:
    check("big", frame)  # warm up: discovery, imports, the grader's expected value
sunaba = timed(lambda: check("big", frame), {ROUNDS})
stock = timed(lambda: pd.testing.assert_frame_equal(frame, expected), {ROUNDS})
def pct(times, p):
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))] * 1000
with capture_output() as last:
    check("big", frame)
print("verdict", last.outputs[0].data["text/plain"].splitlines()[0])
print("result", pct(sunaba, 50), pct(sunaba, 95), pct(stock, 50), pct(stock, 95))
"""


def main() -> int:
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark starts a hub with sandboxed learners")
    graders = Path(f"/tmp/sunaba-checks-bench-{secrets.token_hex(4)}")
    graders.mkdir(mode=0o700)
    (graders / "bench").mkdir()
    (graders / "bench" / "ex01.py").write_text(GRADER, encoding="utf-8")
    hub = SunabaHub(extra={"checks": {"graders": str(graders), "rate_limit": 10_000}})
    try:
        hub.start()
        learner = hub.new_learner("bench")
        hub.api(
            "POST", "/groups/nbgrader-bench/users", json={"users": ["bench"]}
        ).raise_for_status()
        hub.spawn(learner)
        outcome = run_in_kernel(hub, learner, KERNEL, timeout=600)
        if outcome["status"] != "ok":
            sys.exit(f"kernel failed: {outcome['error']}")
        lines = dict(line.split(" ", 1) for line in outcome["stdout"].splitlines())
        s50, s95, k50, k95 = (float(x) for x in lines["result"].split())
    finally:
        hub.close()
        shutil.rmtree(graders, ignore_errors=True)
    print(f"check round trip, {ROWS:,}-row DataFrame, {ROUNDS} rounds ({lines['verdict']})")
    print(f"{'':44}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'Sunaba check() via the check service':44}{s50:>10.1f}{s95:>10.1f}")
    print(f"{'stock: assert_frame_equal in the kernel':44}{k50:>10.1f}{k95:>10.1f}")
    print(f"{'ratio Sunaba / stock':44}{s50 / k50:>10.1f}{s95 / k95:>10.1f}")
    print(f"target p95 < 300 ms: {'met' if s95 < 300 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
