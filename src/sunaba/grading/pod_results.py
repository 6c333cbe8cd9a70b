"""What came back from a grading pod, as a job's result: the executed notebooks the learner's
container printed, the verdicts the judge container recorded, and why the pod stopped early
(killed for memory, past its deadline, a non-zero exit) as the same Japanese notes and cell
errors as a dead kernel on one machine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sunaba.grading.execute import KERNEL_DIED, human_size, mark_code_cells
from sunaba.grading.jobs import Job, JobResult
from sunaba.grading.judging import attach_verdicts, cell_windows, verdict_record

TOO_LARGE = "実行結果が大きすぎるため打ち切りました（出力の上限を超えました）"
UNREADABLE = "採点用の環境から読めない結果が返りました"
NO_RESULT = "{name}: 採点用の環境が途中で止まり、実行結果が返りませんでした"
NO_VERDICTS = (
    "採点用の判定コンテナから判定の記録が返りませんでした（assert_check の問題は不合格です）"
)
OOM = "採点用のポッドがメモリの上限（{limit}）を超えたため停止しました"
DEADLINE = "採点用のポッドが制限時間（{seconds}秒）を超えたため停止しました"
CRASHED = "採点用のポッドが異常終了しました（終了コード {code}）"
NOT_STARTED = "採点用のポッドが起動しませんでした（{reason}）"
JOB_REFUSED = "採点用のポッドがこの提出物を実行できませんでした: {error}"


@dataclass
class PodOutcome:
    data: bytes = b""
    problems: list[str] = field(default_factory=list)
    stopped: str = ""  # why the pod stopped early (Japanese), or ""
    cut: bool = False  # the hub stopped reading: the pod is deleted without waiting for it
    verdicts: list[dict] | None = None  # the judge container's record; None: none came back


def verdict_records(data: bytes) -> list[dict] | None:
    """The judge container's `{"verdicts": [...]}` line, each record checked as the local
    judge checks its record file; None when no such line came back."""
    for line in data.split(b"\n"):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("verdicts"), list):
            return [r for r in map(verdict_record, message["verdicts"]) if r is not None]
    return None


def job_result(job: Job, outcome: PodOutcome, seconds: float) -> JobResult:
    result = JobResult(problems=list(outcome.problems), seconds=seconds)
    windows: dict[str, dict] = {}
    for line in outcome.data.split(b"\n"):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            result.problems.append(UNREADABLE)
            continue
        if isinstance(message, dict) and "error" in message:
            result.problems.append(JOB_REFUSED.format(error=message["error"]))
            continue
        if not isinstance(message, dict) or not isinstance(message.get("notebook"), dict):
            result.problems.append(UNREADABLE)
            continue
        if message.get("name") in job.notebooks:
            result.executed[message["name"]] = message["notebook"]
            windows[message["name"]] = cell_windows(message.get("windows"))
    for name in job.notebooks:
        if name in result.executed:
            continue
        if outcome.stopped:
            # As if the kernel had died: every cell of a notebook that did not finish fails.
            notebook = json.loads(job.files[name])
            mark_code_cells(notebook, 0, "KernelDied", f"{KERNEL_DIED}（{outcome.stopped}）")
            result.executed[name] = notebook
            result.problems.append(f"{NO_RESULT.format(name=name)}（{outcome.stopped}）")
        else:
            result.problems.append(NO_RESULT.format(name=name))
    if outcome.verdicts is None and windows:  # notebooks ran, but their checks went unheard
        result.problems.append(NO_VERDICTS)
    # Whatever verdicts a notebook claims are replaced by the judge container's record.
    attach_verdicts(result.executed, windows, outcome.verdicts or [])
    return result


def why_stopped(pod, memory_limit: int) -> str:
    """From the pod's final status: OOMKilled, over its deadline, or a non-zero exit."""
    status = pod.status
    if status is None:
        return ""
    deadline = DEADLINE.format(seconds=pod.spec.active_deadline_seconds)
    if status.reason == "DeadlineExceeded":
        return deadline
    for container in status.container_statuses or []:
        terminated = container.state.terminated if container.state else None
        if terminated is None:
            continue
        if terminated.reason == "OOMKilled":
            return OOM.format(limit=human_size(memory_limit))
        if terminated.exit_code:
            return CRASHED.format(code=terminated.exit_code)
    return ""
