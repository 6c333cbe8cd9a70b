"""`make bench`: run every benchmarks/bench_*.py in turn; each prints its own table of figures
measured side by side with the stock alternative, with ratios. bench_courses.py grades the model
solution of every assignment of every course in courses/ (sandbox against stock nbgrader).
bench_dashboard.py renders the staff course dashboard for 500 learners against the formgrader.
bench_class.py runs its short form: a class of 10 learners working through a real assignment
(the full class of 60 and runs against a live hub: see its docstring)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# No benchmark may hang `make bench`: past this, it and everything it started are stopped and
# the run goes on with the next one (override with SUNABA_BENCH_TIMEOUT, in seconds).
TIMEOUT = float(os.environ.get("SUNABA_BENCH_TIMEOUT", 1800))


def run_one(script: Path) -> str | None:
    """Run one benchmark in a session of its own; None when it passed, else why not."""
    proc = subprocess.Popen([sys.executable, str(script)], cwd=HERE.parent, start_new_session=True)
    try:
        code = proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return f"stopped after {TIMEOUT:.0f} s"
    return f"exit {code}" if code else None


def main(argv: list[str]) -> int:
    selected = argv or [p.stem for p in sorted(HERE.glob("bench_*.py"))]
    failures = []
    for name in selected:
        script = HERE / f"{name.removesuffix('.py')}.py"
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        problem = run_one(script)
        print(f"--- {script.name}: {time.monotonic() - started:.0f} s, {problem or 'exit 0'}")
        if problem:
            failures.append(f"{script.name} ({problem})")
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
