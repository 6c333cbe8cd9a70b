"""The local grading pool: root's process that runs submissions, `settings.workers` at a time,
each in a sandbox of its own (`sunaba.grading.sandbox`), and reads back what happened.

For each job it writes the submission into a fresh directory owned by the job's throwaway kernel
uid, makes the job's cgroup, starts its judge (`sunaba.grading.judging`) and forks the sandbox;
then it collects the executed notebooks from the sandbox's pipe, within a size limit and a
deadline, and attaches the judge's verdicts to them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import pwd
import secrets
import selectors
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.checks.judge_service import SOCKET_ENV
from sunaba.grading.jobs import Job, JobResult, SandboxError, SandboxSettings
from sunaba.grading.judging import (
    Judge,
    attach_verdicts,
    cell_windows,
    copy_graders,
    start_judge,
)
from sunaba.grading.preload import preload
from sunaba.grading.sandbox import sandbox_child
from sunaba.sandbox.limits import CgroupGroup, Limits, cgroup_version

log = logging.getLogger(__name__)

CGROUP_PARENT = "sunaba-grading"
# cgroup v1 keeps a killed sandbox's group busy until its last task has exited.
CGROUP_REMOVE_TIMEOUT = 10.0
READ_CHUNK = 1 << 16
HARD_DEADLINE_GRACE = 60  # seconds past the executors' own deadlines before a sandbox is killed


@dataclass
class _Running:
    job: Job
    slot: int
    pid: int
    fd: int
    workdir: Path
    group: CgroupGroup | None
    started: float
    deadline: float
    limit: int = 0  # bytes of results accepted
    judge: Judge | None = None
    data: bytearray = field(default_factory=bytearray)
    problems: list[str] = field(default_factory=list)


def _check_uid_free(uid: int) -> None:
    with contextlib.suppress(KeyError):
        name = pwd.getpwuid(uid).pw_name
        raise SandboxError(
            f"採点用の uid {uid} はアカウント {name} が使っています。"
            "grading.sandbox_uid_base を空いている範囲に変えてください"
        )


def _write_files(root: Path, files: dict[str, bytes], uid: int, gid: int) -> None:
    """Into a directory created just now by root: no path in it can be a planted link."""
    for relative, data in files.items():
        parts = Path(relative).parts
        if not parts or any(part in ("", ".", "..") for part in parts) or relative.startswith("/"):
            raise SandboxError(f"提出物のファイル名が不正です: {relative!r}")
        target = root.joinpath(*parts)
        for parent in reversed(target.relative_to(root).parents[:-1]):
            directory = root / parent
            if not directory.is_dir():
                directory.mkdir(mode=0o700)
                os.chown(directory, uid, gid)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chown(target, uid, gid)


class GradingPool:
    """Runs jobs, `settings.workers` at a time; `run` returns a result for every job."""

    def __init__(self, settings: SandboxSettings):
        if os.geteuid() != 0:
            raise SandboxError("採点用の環境を作るには root で実行してください")
        self.settings = settings
        self.version = cgroup_version()
        self.graders: Path | None = None  # the judges' copy, for the length of a run
        for slot in range(settings.workers):
            for uid in self._uids(slot):
                _check_uid_free(uid)

    def _uids(self, slot: int) -> tuple[int, int]:
        base = self.settings.uid_base + 2 * slot
        return base, base + 1  # executor, kernel (the group is the executor's uid)

    @staticmethod
    def on_done(student: str) -> None:
        """Called as each job finishes (the pool process reports it to its parent)."""

    def run(self, jobs: list[Job]) -> dict[str, JobResult]:
        preload()
        scratch = self._make_scratch()
        results: dict[str, JobResult] = {}
        pending = deque(jobs)
        running: dict[int, _Running] = {}
        free_slots = list(range(self.settings.workers))
        selector = selectors.DefaultSelector()
        try:
            while pending or running:
                while pending and free_slots:
                    job = pending.popleft()
                    item = self._start(job, free_slots.pop(0), scratch)
                    if isinstance(item, JobResult):
                        results[job.student] = item
                        self.on_done(job.student)
                        continue
                    running[item.fd] = item
                    selector.register(item.fd, selectors.EVENT_READ)
                for key, _ in selector.select(timeout=0.5):
                    item = running[key.fd]
                    chunk = os.read(key.fd, READ_CHUNK)
                    if chunk:
                        item.data += chunk
                        if len(item.data) > item.limit:
                            item.problems.append(
                                "実行結果が大きすぎるため打ち切りました（出力の上限を超えました）"
                            )
                            self._kill(item)
                        continue
                    selector.unregister(key.fd)
                    del running[key.fd]
                    results[item.job.student] = self._finish(item)
                    self.on_done(item.job.student)
                    free_slots.append(item.slot)
                self._stop_overdue(running.values())
        finally:
            for item in running.values():
                self._kill(item)
                self._finish(item)
            selector.close()
            shutil.rmtree(scratch, ignore_errors=True)
            if self.version:  # the parent group too, unless another run is using it
                for directory in CgroupGroup(CGROUP_PARENT, "-", self.version).dirs:
                    with contextlib.suppress(OSError):
                        directory.parent.rmdir()
        return results

    def _make_scratch(self) -> Path:
        """Root 0700 until a job's own directory is handed over; the judges' graders in it."""
        scratch_parent = self.settings.scratch_parent
        scratch_parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".autograde-{os.getpid()}-", dir=scratch_parent))
        judge = self.settings.judge
        self.graders = copy_graders(judge, scratch) if judge is not None else None
        return scratch

    def _stop_overdue(self, running) -> None:
        now = time.monotonic()
        for item in running:
            if now > item.deadline and not item.problems:
                item.problems.append("制限時間を大きく超えたため、採点用の環境ごと停止しました")
                self._kill(item)

    def _max_result(self, job: Job) -> int:
        source = sum(len(job.files[name]) for name in job.notebooks)
        return 2 * source + len(job.notebooks) * (self.settings.max_output + (1 << 20))

    def _start(self, job: Job, slot: int, scratch: Path) -> _Running | JobResult:
        try:
            notebooks = {name: json.loads(job.files[name]) for name in job.notebooks}
        except (KeyError, ValueError):
            return JobResult(
                problems=["提出されたノートブックが読めません（JSON として壊れています）"]
            )
        executor_uid, kernel_uid = self._uids(slot)
        workdir = scratch / f"{slot}-{secrets.token_hex(4)}"
        workdir.mkdir(mode=0o700)
        try:
            _write_files(workdir, job.files, kernel_uid, executor_uid)
        except SandboxError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            return JobResult(problems=[str(exc)])
        os.chown(workdir, kernel_uid, executor_uid)
        group = self._cgroup(slot)
        sys.stdout.flush()
        sys.stderr.flush()
        settings, judge = self._judged_settings(scratch, kernel_uid, executor_uid)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            sandbox_child(
                settings, notebooks, str(workdir), (executor_uid, kernel_uid), group, write_fd
            )
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        budget = len(job.notebooks) * (
            self.settings.notebook_timeout + self.settings.cell_timeout + 30
        )
        now = time.monotonic()
        deadline = now + budget + HARD_DEADLINE_GRACE
        return _Running(
            job, slot, pid, read_fd, workdir, group, now, deadline, self._max_result(job), judge
        )

    def _cgroup(self, slot: int) -> CgroupGroup | None:
        if not self.version:
            return None
        group = CgroupGroup(CGROUP_PARENT, f"{os.getpid()}-{slot}", self.version)
        group.kill_all()
        # Room above the kernel's own process limit (an rlimit on its uid), so that a fork
        # bomb stops at that limit and the executor and PID 1 can still work.
        limits = self.settings.limits
        group.create(
            Limits(
                limits.memory_bytes,
                limits.cpu_cores,
                limits.max_processes + 64,
                limits.max_file_bytes,
            )
        )
        return group

    def _judged_settings(
        self, scratch: Path, kernel_uid: int, executor_uid: int
    ) -> tuple[SandboxSettings, Judge | None]:
        """The job's judge started, its socket's directory shown in the sandbox."""
        settings = self.settings
        if settings.judge is None:
            return settings, None
        judge = start_judge(settings.judge, self.graders, scratch, kernel_uid, executor_uid)
        return dataclasses.replace(
            settings,
            readonly=(*settings.readonly, judge.directory),
            env={**settings.env, SOCKET_ENV: judge.socket_path},
        ), judge

    def _kill(self, item: _Running) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(item.pid, signal.SIGKILL)
        if item.group is not None:
            item.group.kill_all()

    def _finish(self, item: _Running) -> JobResult:
        with contextlib.suppress(OSError):
            os.close(item.fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(item.pid, 0)
        if item.group is not None:
            item.group.kill_all()
            if not item.group.remove(timeout=CGROUP_REMOVE_TIMEOUT):
                log.warning("cgroup of grading slot %s could not be removed", item.slot)
        shutil.rmtree(item.workdir, ignore_errors=True)
        result = JobResult(problems=list(item.problems))
        result.seconds = time.monotonic() - item.started
        windows: dict[str, dict] = {}
        for line in bytes(item.data).split(b"\n"):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
                name, notebook = message["name"], message["notebook"]
            except (ValueError, KeyError, TypeError):
                result.problems.append("採点用の環境から読めない結果が返りました")
                continue
            if name in item.job.notebooks and isinstance(notebook, dict):
                result.executed[name] = notebook
                windows[name] = cell_windows(message.get("windows"))
        records = item.judge.stop() if item.judge is not None else []
        attach_verdicts(result.executed, windows, records)
        for name in item.job.notebooks:
            if name not in result.executed:
                result.problems.append(
                    f"{name}: 採点用の環境が途中で止まり、実行結果が返りませんでした"
                )
        return result
