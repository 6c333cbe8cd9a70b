"""Run learners' submissions in sandboxes, several at once, and read back what happened.

The trusted parent (root, the `sunaba grade autograde` process) forks one child per submission.
The child joins a cgroup of its own (memory, CPU, processes), takes rlimits, unshares mount,
PID, IPC, UTS and network namespaces, and builds a filesystem view holding only the system,
the runtime prefix and the public datasets (read-only), the submission's own directory and the
directory of its judge's socket. No grader is there: the learner's checks are judged outside,
by a judge of their own (`sunaba.grading.judging`), whose record decides the test cells. Its PID 1 then, for each notebook, forks

- the kernel, as a throwaway uid that owns the submission directory and runs learners' code;
- the executor, as a second throwaway uid, running nbgrader's Execute against that kernel and
  writing the executed notebook, one JSON line per notebook, into a pipe only the parent reads.

No account has to exist for those uids; nothing outside the submission's directory belongs to
them, and every process of a sandbox dies with its PID 1. The parent imports the kernel's
modules once before forking, so each kernel starts in milliseconds instead of a second.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import pwd
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.checks.judge_service import SOCKET_ENV
from sunaba.config.schema import SiteConfig
from sunaba.grading.jobs import Job, JobResult, SandboxError, SandboxSettings, settings_for
from sunaba.grading.judging import (
    Judge,
    JudgeSettings,
    attach_verdicts,
    cell_windows,
    copy_graders,
    start_judge,
)
from sunaba.grading.preload import preload
from sunaba.sandbox.enter import close_all_but, fork_into_sandbox
from sunaba.sandbox.limits import (
    CgroupGroup,
    Limits,
    cgroup_version,
)
from sunaba.sandbox.namespace import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWUTS,
    PR_SET_PDEATHSIG,
    drop_privileges,
    enter_root,
    prctl,
)

# A private mount point per mount namespace: every sandbox can use the same path.
MOUNT_ROOT = "/run/sunaba-grading-root"
CGROUP_PARENT = "sunaba-grading"
HOSTNAME = "sunaba-grading"
READ_CHUNK = 1 << 16
# A line the pool process writes to its stderr as each job finishes (progress only: it never
# counts towards a result, and names no one outside the jobs the parent sent).
PROGRESS_MARK = b"sunaba-grading-done "
HARD_DEADLINE_GRACE = 60  # seconds past the executors' own deadlines before a sandbox is killed


# ----------------------------------------------------------------------------------------------
# Inside the sandbox (forked children; every path ends in os._exit)


def _devnull_stdio(keep_stdout: bool) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    if not keep_stdout:
        os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def _run_kernel(settings: SandboxSettings, workdir: str, uid: int, gid: int, conn: str):
    os.setsid()  # its own process group: an interrupt reaches it and its children only
    _devnull_stdio(keep_stdout=False)
    drop_privileges(uid, gid)
    os.environ.clear()
    os.environ.update({**settings.env, "HOME": workdir, "USER": "sunaba-grading"})
    os.chdir(workdir)
    from sunaba.grading.execute import run_kernel

    run_kernel(conn, settings.max_output)


def _run_executor(settings, workdir, uid, gid, info, kernel_pid, name, notebook):
    from sunaba.grading.execute import execute_and_report

    # Results go to the pipe on a descriptor of their own: nothing a library prints can mix in.
    out = os.dup(1)
    _devnull_stdio(keep_stdout=False)
    drop_privileges(uid, gid)
    os.environ.clear()
    os.environ.update({"PATH": settings.env["PATH"], "HOME": "/tmp", "LANG": "C.UTF-8"})
    os.chdir("/tmp")
    execute_and_report(
        out,
        name,
        notebook,
        connection=info,
        kernel_pid=kernel_pid,
        workdir=workdir,
        cell_timeout=settings.cell_timeout,
        notebook_timeout=settings.notebook_timeout,
        max_output=settings.max_output,
    )


def _sandbox_init(settings: SandboxSettings, notebooks: dict, workdir: str, uids: tuple[int, int]):
    """PID 1 of the sandbox: one fresh kernel and executor per notebook, in order."""
    from sunaba.grading.execute import connection_info

    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    enter_root(MOUNT_ROOT, HOSTNAME)
    executor_uid, kernel_uid = uids
    gid = executor_uid
    for index, (name, notebook) in enumerate(notebooks.items()):
        directory = f"/tmp/kernel-{index}"
        os.mkdir(directory, 0o770)
        os.chown(directory, kernel_uid, gid)
        info = connection_info(directory, secrets.token_hex(32))
        conn_file = f"{directory}/connection.json"
        with open(conn_file, "w") as handle:
            json.dump(info, handle)
        os.chown(conn_file, kernel_uid, gid)
        kernel = os.fork()
        if kernel == 0:
            try:
                _run_kernel(settings, workdir, kernel_uid, gid, conn_file)
            finally:
                os._exit(0)
        executor = os.fork()
        if executor == 0:
            try:
                _run_executor(settings, workdir, executor_uid, gid, info, kernel, name, notebook)
            finally:
                os._exit(0)
        while True:
            try:
                pid, _ = os.wait()
            except ChildProcessError:
                break
            if pid == executor:
                break
        # The kernel, whatever it forked, and anything left of the executor.
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        while True:
            try:
                os.wait()
            except ChildProcessError:
                break
    os._exit(0)


def _sandbox_child(settings, notebooks, workdir, uids, group, result_fd) -> None:
    """The forked child, still root and outside: limits, namespaces, then PID 1."""
    try:
        os.setsid()
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.dup2(result_fd, 1)
        _devnull_stdio(keep_stdout=True)
        close_all_but([])
        init = fork_into_sandbox(
            cgroup_procs=group.procs_files() if group is not None else [],
            limits=settings.limits,
            namespaces=CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET,
            root=MOUNT_ROOT,
            home=workdir,
            readonly=list(settings.readonly),
        )
        if init == 0:
            _sandbox_init(settings, notebooks, workdir, uids)
        _, status = os.waitpid(init, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    except BaseException:
        with contextlib.suppress(OSError):
            os.write(2, traceback.format_exc().encode())
        os._exit(70)


# ----------------------------------------------------------------------------------------------
# The parent


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
        scratch_parent = self.settings.scratch_parent
        scratch_parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(
            _mkdtemp(scratch_parent, f".autograde-{os.getpid()}-")
        )  # root 0700 until a job's own directory is handed over
        judge = self.settings.judge
        self.graders = copy_graders(judge, scratch) if judge is not None else None
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
                now = time.monotonic()
                for item in running.values():
                    if now > item.deadline and not item.problems:
                        item.problems.append(
                            "制限時間を大きく超えたため、採点用の環境ごと停止しました"
                        )
                        self._kill(item)
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
        group = None
        if self.version:
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
        settings, judge = self.settings, None
        sys.stdout.flush()
        sys.stderr.flush()
        if settings.judge is not None:
            judge = start_judge(settings.judge, self.graders, scratch, kernel_uid, executor_uid)
            settings = dataclasses.replace(
                settings,
                readonly=(*settings.readonly, judge.directory),
                env={**settings.env, SOCKET_ENV: judge.socket_path},
            )
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _sandbox_child(
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
            item.group.remove()
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


# ----------------------------------------------------------------------------------------------
# A process of its own: the caller may hold threads, event loops or sockets a fork must not copy


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


# The formgrader's single runs (through the exchange service) may overlap a CLI run: their uids
# start past every CLI slot (at most 256 workers, two uids each), so no two live sandboxes share
# a uid and with it a process limit.
FORMGRADER_UID_OFFSET = 2 * 256


def run_jobs(
    config: SiteConfig,
    course_id: str,
    assignment_id: str,
    jobs: list[Job],
    *,
    uid_offset: int = 0,
    on_done=None,
) -> dict:
    """Jobs of one assignment through a fresh pool process; {student: JobResult}.
    With `grading.backend: kubernetes`, each job in a grading pod instead (no uids to offset:
    pods share nothing)."""
    if config.grading.backend == "kubernetes":
        from sunaba.grading.pods import run_pod_jobs

        return run_pod_jobs(config, course_id, assignment_id, jobs)
    python = str(Path(config.hub.prefix) / "venv" / "bin" / "python")
    settings = settings_for(config, course_id, assignment_id)
    settings = dataclasses.replace(settings, uid_base=settings.uid_base + uid_offset)
    return run_in_fresh_process(python, settings, jobs, on_done)


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
    """Run the pool in `python -m sunaba.grading.sandbox`; returns {student: JobResult}.
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
        [python, "-m", "sunaba.grading.sandbox"],
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


def _mkdtemp(parent: Path, prefix: str) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=prefix, dir=parent)


if __name__ == "__main__":
    sys.exit(main())
