"""A worker step that reports items done: each report reaches the caller while the step runs,
everything else the worker prints is kept for its result, as without reports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sunaba.grading.runner import _streamed, step_outcome
from sunaba.grading.worker import PROGRESS_MARK

WORKER = f"""
import json, sys
data = sys.stdin.buffer.read()
for name in ("sato", "suzuki"):
    print({PROGRESS_MARK!r} + json.dumps({{"item": name, "written": True}}), flush=True)
    print("log line for " + name, file=sys.stderr)
print(json.dumps({{"ok": True, "result": {{"bytes": len(data)}}}}))
"""


def test_reports_reach_the_caller_and_the_result_is_the_last_line():
    seen = []
    command = [sys.executable, "-c", WORKER]
    completed = _streamed(command, b"x" * 3_000_000, 60, seen.append, {})
    assert seen == [{"item": "sato", "written": True}, {"item": "suzuki", "written": True}]
    assert step_outcome(completed, "collect") == {"bytes": 3_000_000}
    assert completed.stderr.decode().splitlines() == ["log line for sato", "log line for suzuki"]


def test_a_step_past_its_time_is_stopped():
    command = [sys.executable, "-c", "import time; time.sleep(600)"]
    with pytest.raises(subprocess.TimeoutExpired):
        _streamed(command, b"", 1, print, {})
