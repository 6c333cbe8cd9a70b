"""The local grading pool in a process of its own, started fresh for each run: the caller may
hold threads, event loops or sockets a fork must not copy. Both ends are here: the caller's
(`run_in_fresh_process`) and the pool process's (`main`, `python -m sunaba.grading.pool_process`),
which talk JSON over its stdin and stdout, and progress lines over its stderr."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path

from sunaba.grading.jobs import Job, JobResult, SandboxError, SandboxSettings
from sunaba.grading.judging import JudgeSettings
from sunaba.grading.pool import GradingPool
from sunaba.sandbox.limits import Limits

# A line the pool process writes to its stderr as each job finishes (progress only: it never
# counts towards a result, and names no one outside the jobs the parent sent).
PROGRESS_MARK = b"sunaba-grading-done "


def _settings_to_json(settings: SandboxSettings) -> dict:
    data = dataclasses.asdict(settings)
    data["scratch_parent"] = str(settings.scratch_parent)
    return data


def _settings_from_json(data: dict) -> SandboxSettings:
    return SandboxSettings(
        **{
            **data,
            "limits": Limits(**data["limits"]),
            "readonly": tuple(data["readonly"]),
            "scratch_parent": Path(data["scratch_parent"]),
            "judge": JudgeSettings(**data["judge"]) if data.get("judge") else None,
        }
    )


def _read_progress(stream, on_done, tail: list[bytes]) -> None:
    """The pool's stderr: its progress lines go to `on_done`, the rest is kept for errors."""
    for line in stream:
        if line.startswith(PROGRESS_MARK):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                if on_done:
                    on_done(json.loads(line[len(PROGRESS_MARK) :].decode("utf-8")))
            continue
        tail.append(line)
        del tail[:-200]


def run_in_fresh_process(
    python: str, settings: SandboxSettings, jobs: list[Job], on_done=None
) -> dict:
    """Run the pool in `python -m sunaba.grading.pool_process`; returns {student: JobResult}.
    `on_done(student)` is called (from another thread) as each job finishes."""
    request = {
        "settings": _settings_to_json(settings),
        "jobs": [
            {
                "student": job.student,
                "files": {k: base64.b64encode(v).decode("ascii") for k, v in job.files.items()},
                "notebooks": list(job.notebooks),
            }
            for job in jobs
        ],
    }
    proc = subprocess.Popen(
        [python, "-m", "sunaba.grading.pool_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
        cwd="/",
    )
    errors: list[bytes] = []
    students = {job.student for job in jobs}

    def done(student) -> None:
        if on_done and student in students:
            on_done(student)

    # stderr has a reader of its own (progress as it comes); the pool reads all of its stdin
    # before it writes its answer, so writing, then reading stdout here cannot block both ways.
    reader = threading.Thread(target=_read_progress, args=(proc.stderr, done, errors))
    reader.start()
    try:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(json.dumps(request).encode("utf-8"))
            proc.stdin.close()
        stdout = proc.stdout.read()
    finally:
        proc.wait()
        reader.join()
    try:
        raw = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
        results = raw["results"]
    except (ValueError, IndexError, KeyError):
        tail = b"".join(errors).decode("utf-8", "replace")[-2000:]
        raise SandboxError(f"採点用の環境を動かせませんでした:\n{tail}") from None
    if "error" in raw:
        raise SandboxError(raw["error"])
    return {student: JobResult(**values) for student, values in results.items()}


def _report_done(student: str) -> None:
    sys.stderr.buffer.write(PROGRESS_MARK + json.dumps(student).encode("utf-8") + b"\n")
    sys.stderr.buffer.flush()


def main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    jobs = []
    for item in request["jobs"]:
        files = {k: base64.b64decode(v) for k, v in item["files"].items()}
        jobs.append(Job(item["student"], files, tuple(item["notebooks"])))
    try:
        pool = GradingPool(_settings_from_json(request["settings"]))
        pool.on_done = _report_done
        results = {s: dataclasses.asdict(r) for s, r in pool.run(jobs).items()}
        reply = {"results": results}
    except SandboxError as exc:
        reply = {"results": {}, "error": str(exc)}
    sys.stdout.write("\n" + json.dumps(reply, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
