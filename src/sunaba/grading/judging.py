"""The judge beside each grading sandbox (the trusted parent's side).

The grading sandbox holds no grader: `assert_check` and `check` in the learner's kernel send
their answers to a judge (`sunaba.checks.judge_service`) that the parent starts for each
submission before its sandbox:

- as the course's grader account, not as either of the sandbox's uids, so the kernel can
  neither read its memory nor signal it;
- in a filesystem view of its own (new mount, PID, network, IPC and UTS namespaces) holding the
  runtime prefix, the public datasets and a private copy of this course's graders only;
- listening on a socket the parent bound in a directory of its own, which the kernel's sandbox
  sees read-only; only the kernel's uid may connect (file mode and SO_PEERCRED);
- appending each verdict, stamped with the time it was asked, to a file the parent opened in
  its own private scratch directory, which no sandbox sees.

After the sandbox, the parent gives each verdict to the cell that was running when it was asked
(the executor, another uid, reports when each cell started and ended) and writes them into the
executed notebook's metadata (`sunaba_judge`), overwriting whatever the notebook held there.
The scorer (`sunaba.grading.replay`) awards an `assert_check` test cell only on those.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sunaba.checks.judge_service import serve
from sunaba.core.layout import grader_account
from sunaba.core.state import public_datasets_dir
from sunaba.sandbox.enter import close_all_but
from sunaba.sandbox.namespace import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    PR_SET_PDEATHSIG,
    build_root,
    drop_privileges,
    enter_root,
    prctl,
    unshare,
)

JUDGE_ROOT = "/run/sunaba-judge-root"  # private to each judge's mount namespace
SOCKET_NAME = "judge.sock"
METADATA_KEY = "sunaba_judge"
MAX_RECORD_BYTES = 64 << 20


class JudgeSetupError(RuntimeError):
    """The judge cannot be prepared (message in Japanese, for the instructor)."""


@dataclass(frozen=True)
class JudgeSettings:
    graders: str  # the course's grader directory (graders/<course>) on the host
    course: str
    assignment: str
    uid: int
    gid: int
    prefix: str
    datasets: str


def judge_settings(config, course_id: str, assignment_id: str, graders_root: Path):
    """None when the course has no graders (no test cell can call `assert_check` then)."""
    graders = Path(graders_root) / course_id
    if not graders.is_dir():
        return None
    name = grader_account(config, course_id)
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise JudgeSetupError(
            f"採点用アカウント {name} がありません。コースを同期してから採点してください"
        ) from None
    return JudgeSettings(
        str(graders),
        course_id,
        assignment_id,
        account.pw_uid,
        account.pw_gid,
        str(config.hub.prefix),
        str(public_datasets_dir(config)),
    )


def copy_graders(settings: JudgeSettings, scratch: Path) -> Path:
    """This course's grader files, copied into root's private scratch for the judges to read
    (the checkout holding the graders may be root's only). Returns the graders root to name."""
    source = Path(settings.graders)
    root = scratch / f"graders-{secrets.token_hex(4)}"
    target = root / settings.course
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or path.is_symlink():
            continue
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())
    target.mkdir(parents=True, exist_ok=True)
    for path in [root, *sorted(root.rglob("*"))]:
        os.chown(path, settings.uid, settings.gid)
        path.chmod(0o500 if path.is_dir() else 0o400)
    return root


@dataclass
class Judge:
    """One submission's judge: the directory its socket is in, its process, its record."""

    directory: str
    pid: int
    record: Path

    @property
    def socket_path(self) -> str:
        return f"{self.directory}/{SOCKET_NAME}"

    def stop(self) -> list[dict]:
        """Stop the judge; its verdicts as recorded (unreadable lines are left out)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        shutil.rmtree(self.directory, ignore_errors=True)
        try:
            with open(self.record, "rb") as handle:
                data = handle.read(MAX_RECORD_BYTES)
        except OSError:
            return []
        finally:
            with contextlib.suppress(OSError):
                self.record.unlink()
        return [entry for entry in map(_entry, data.split(b"\n")) if entry is not None]


def _entry(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return verdict_record(value)


def verdict_record(value) -> dict | None:
    """One verdict of a judge's record ({t, question, ok, message}), or None if malformed."""
    if not isinstance(value, dict):
        return None
    t, question, ok, message = (value.get(k) for k in ("t", "question", "ok", "message"))
    if not (isinstance(t, int) and isinstance(question, str) and isinstance(ok, bool)):
        return None
    return {"t": t, "question": question, "ok": ok, "message": str(message or "")}


def start_judge(
    settings: JudgeSettings, graders_root: Path, scratch: Path, kernel_uid: int, kernel_gid: int
) -> Judge:
    """Bind the socket, open the record, fork the judge into its own sandbox."""
    base = "/run" if os.path.isdir("/run") else tempfile.gettempdir()
    directory = tempfile.mkdtemp(prefix="sunaba-judge-", dir=base)  # short: sun_path is small
    os.chmod(directory, 0o711)  # noqa: S103 (the kernel's uid must reach the socket)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = f"{directory}/{SOCKET_NAME}"
    listener.bind(path)
    os.chown(path, kernel_uid, kernel_gid)
    os.chmod(path, 0o600)
    listener.listen(8)
    record = scratch / f"verdicts-{secrets.token_hex(8)}.jsonl"
    record_fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
    pid = os.fork()
    if pid == 0:
        try:
            _judge_child(settings, graders_root, directory, listener, record_fd, kernel_uid)
        finally:
            os._exit(70)
    listener.close()
    os.close(record_fd)
    return Judge(directory, pid, record)


def _quiet_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _judge_child(settings, graders_root, directory, listener, record_fd, kernel_uid) -> None:
    """Forked, still root: namespaces and the filesystem view; its child, PID 1 there (root),
    forks the judge and waits. Killing this process ends PID 1 and with it the judge."""
    os.setsid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _quiet_stdio()
    close_all_but(sorted([listener.fileno(), record_fd]))
    unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    os.makedirs(JUDGE_ROOT, exist_ok=True)
    readonly = [settings.prefix, settings.datasets, str(graders_root)]
    build_root(JUDGE_ROOT, directory, readonly)
    init = os.fork()
    if init == 0:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        enter_root(JUDGE_ROOT, "sunaba-judge")
        judge = os.fork()
        if judge == 0:
            _serve_as_judge(settings, graders_root, listener, record_fd, kernel_uid)
            os._exit(0)
        listener.close()
        os.close(record_fd)
        os.waitpid(judge, 0)
        os._exit(0)
    os.waitpid(init, 0)
    os._exit(0)


def _serve_as_judge(settings, graders_root, listener, record_fd, kernel_uid) -> None:
    drop_privileges(settings.uid, settings.gid)
    os.environ.clear()
    os.environ.update(
        {
            "PATH": f"{settings.prefix}/venv/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "MPLBACKEND": "agg",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "PYTHONDONTWRITEBYTECODE": "1",
            "SUNABA_DATASETS_PATH": settings.datasets,
        }
    )
    os.chdir("/tmp")
    serve(
        listener,
        record_fd,
        kernel_uid=kernel_uid,
        graders_root=str(graders_root),
        course=settings.course,
        assignment=settings.assignment,
    )


def attach_verdicts(executed: dict, windows: dict, records: list[dict]) -> None:
    """Give each notebook the verdicts asked while each of its cells ran:
    `metadata.sunaba_judge = {"cells": {"<index>": [{question, ok, message}, ...]}}`. Every
    executed notebook gets the key (empty when nothing was judged), replacing its own."""
    spans = [
        (start, end, name, index)
        for name, cells in windows.items()
        for index, (start, end) in cells.items()
    ]
    found: dict[str, dict[str, list]] = {name: {} for name in executed}
    for record in records:
        for start, end, name, index in spans:
            if start <= record["t"] <= end and name in found:
                verdict = {k: record[k] for k in ("question", "ok", "message")}
                found[name].setdefault(str(index), []).append(verdict)
                break
    for name, notebook in executed.items():
        if not isinstance(notebook.get("metadata"), dict):
            notebook["metadata"] = {}
        notebook["metadata"][METADATA_KEY] = {"cells": found[name]}


def cell_windows(raw) -> dict[int, tuple[int, int]]:
    """The executor's {cell index: [start ns, end ns]}, checked."""
    windows = {}
    if isinstance(raw, dict):
        for key, span in raw.items():
            with contextlib.suppress(ValueError, TypeError):
                start, end = (int(x) for x in span)
                windows[int(key)] = (start, end)
    return windows
