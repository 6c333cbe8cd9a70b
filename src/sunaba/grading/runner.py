"""Run a worker step as a course's grader account (never as root: it executes learners' code
and writes files in a directory the grader owns).

The worker runs from the portable copy under the prefix (`sunaba_portable`, see
`sunaba.exchange.learner_files`): a grader account may not be able to read the checkout."""

from __future__ import annotations

import base64
import json
import os
import pwd
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.archive import unpack
from sunaba.core.files import write_if_changed
from sunaba.core.layout import CoursePaths, grader_account
from sunaba.exchange.learner_files import (
    PACKAGE_ROOT,
    PORTABLE_MODULES,
    PORTABLE_PACKAGE,
    ensure_portable_modules,
)
from sunaba.grading.worker import PROGRESS_MARK


class GradingError(RuntimeError):
    """A grading step failed; the message says which and why (Japanese)."""


def worker_python(config: SiteConfig) -> str:
    venv_python = Path(config.hub.prefix) / "venv" / "bin" / "python"
    return str(venv_python)


def become(account: pwd.struct_passwd):
    """For `preexec_fn`: the child drops to `account` (no supplementary groups)."""

    def drop():
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return drop


def run_step(
    config: SiteConfig,
    course_id: str,
    step: str,
    *,
    stdin: bytes | None = None,
    timeout: float = 3600,
    on_done: Callable[[dict], None] | None = None,
    **request,
) -> dict:
    """Run `sunaba.grading.worker` for one step and return its result. `on_done` hears of each
    item the step reports done (`worker.report_done`), as it happens."""
    if config.grading.backend == "kubernetes":
        return run_step_as_hub(
            config, course_id, step, stdin=stdin, timeout=timeout, on_done=on_done, **request
        )
    if os.geteuid() != 0:
        raise GradingError(
            "採点の処理は root で実行してください（採点用アカウントに切り替えて動かします）"
        )
    ensure_portable_modules(config)  # the copy the grader runs must match this code
    account = pwd.getpwnam(grader_account(config, course_id))
    root = CoursePaths.of(config, course_id).root
    env = {"USER": account.pw_name}
    return _run_worker(config, root, step, stdin, timeout, request, env, become(account), on_done)


def run_step_as_hub(
    config: SiteConfig,
    course_id: str,
    step: str,
    *,
    stdin: bytes | None = None,
    timeout: float = 3600,
    on_done: Callable[[dict], None] | None = None,
    **request,
) -> dict:
    """A step on Kubernetes: as the hub pod's own user, without setuid. The hub pod has no other
    account and cannot switch to one (it runs unprivileged); none is needed, because no step
    runs learners' code: autograde's steps only copy submissions and replay the outputs the
    grading pods produced (`sunaba.grading.pods`), feedback only converts notebooks."""
    root = CoursePaths.of(config, course_id).root
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {"PYTHONPATH": str(hub_portable_modules(config))}
    return _run_worker(config, root, step, stdin, timeout, request, env, None, on_done)


def _run_worker(
    config, root: Path, step, stdin, timeout, request, env, preexec_fn=None, on_done=None
) -> dict:
    """`python -m sunaba_portable.grading.worker` in the course directory, with a minimal
    environment (plus `env`); its result, or a GradingError saying why there is none."""
    request = {"step": step, "stdin": stdin is not None, **request}
    python = worker_python(config)
    command = [python, "-m", "sunaba_portable.grading.worker", json.dumps(request)]
    options = {
        "cwd": root,
        "env": {
            "PATH": f"{Path(python).parent}:/usr/bin:/bin",
            "HOME": str(root),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        },
        "preexec_fn": preexec_fn,  # no threads hold locks here
    }
    if on_done is not None:
        completed = _streamed(command, stdin or b"", timeout, on_done, options)
    else:
        completed = subprocess.run(
            command,
            input=stdin or b"",
            capture_output=True,
            timeout=timeout,
            check=False,
            **options,
        )
    return step_outcome(completed, step)


def _streamed(command, stdin: bytes, timeout: float, on_done, options):
    """`subprocess.run` for a worker that reports items done: each report goes to `on_done`
    while the worker runs. (The worker reads all its stdin before it prints anything.)"""
    mark = PROGRESS_MARK.encode()
    expired = threading.Event()
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, **options
        ) as process,
    ):
        timer = threading.Timer(timeout, lambda: (expired.set(), process.kill()))
        timer.start()
        try:
            try:
                process.stdin.write(stdin)
                process.stdin.close()
            except BrokenPipeError:
                pass  # it died early: its stderr says why
            lines = []
            for line in process.stdout:
                if line.startswith(mark):
                    on_done(json.loads(line[len(mark) :]))
                else:
                    lines.append(line)
            process.wait()
        finally:
            timer.cancel()
        if expired.is_set():
            raise subprocess.TimeoutExpired(command, timeout)
        errors.seek(0)
        return subprocess.CompletedProcess(
            command, process.returncode, b"".join(lines), errors.read()
        )


def hub_portable_modules(config: SiteConfig) -> Path:
    """The portable copy the courses' nbgrader config names (`sunaba_portable...`), in the state
    dir: on Kubernetes the prefix belongs to the image and the hub's user cannot write there."""
    base = Path(config.hub.state_dir) / "grading-portable"
    for relative in PORTABLE_MODULES:
        target = base / PORTABLE_PACKAGE / relative
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Steps of several threads may refresh the copy at once: each write has its own temp.
        write_if_changed(target, (PACKAGE_ROOT / relative).read_bytes(), mode=0o644)
    return base


def step_outcome(completed: subprocess.CompletedProcess, step: str) -> dict:
    """The worker's last stdout line, or why there is none (Japanese)."""
    lines = [line for line in completed.stdout.decode("utf-8", "replace").splitlines() if line]
    try:
        outcome = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = completed.stderr.decode("utf-8", "replace")[-2000:]
        raise GradingError(f"採点処理（{step}）が異常終了しました:\n{tail}") from None
    if not outcome.get("ok"):
        tail = completed.stderr.decode("utf-8", "replace")[-2000:]
        raise GradingError(f"採点処理（{step}）に失敗しました: {outcome.get('error')}\n{tail}")
    return outcome["result"]


def files_from(b64: str) -> dict[str, bytes]:
    """Files handed back by the worker (checked like any archive)."""
    return unpack(
        base64.b64decode(b64), max_bytes=2**33, max_files=10**6, check_notebooks=False
    ).files
