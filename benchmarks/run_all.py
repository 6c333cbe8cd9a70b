"""`make bench`: run every benchmarks/bench_*.py in turn; each prints its own table of figures
measured side by side with the stock alternative, with ratios. bench_courses.py grades the model
solution of every assignment of every course in courses/ (sandbox against stock nbgrader)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    selected = argv or [p.stem for p in sorted(HERE.glob("bench_*.py"))]
    failures = []
    for name in selected:
        script = HERE / f"{name.removesuffix('.py')}.py"
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.name}: {time.monotonic() - started:.0f} s, exit {result.returncode}")
        if result.returncode:
            failures.append(script.name)
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
