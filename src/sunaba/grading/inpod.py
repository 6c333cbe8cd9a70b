"""The program a grading pod runs: `python -m sunaba.grading.inpod`, as the container's PID 1.

On Kubernetes the pod is the sandbox (no network, non-root, no privilege escalation, read-only
root filesystem, its own PID namespace, a memory and CPU limit; see
`sunaba.deploy.k8s_manifests.grader_template`), so this does what the sandbox's PID 1 does on one
machine (`sunaba.grading.sandbox`) without namespaces or throwaway uids.

The job comes as one JSON line on stdin (the hub writes it through the pods/attach API, so the
pod needs no network): the submission's files, the notebooks to run and the limits. No grader
reaches this container: `assert_check` and `check` in the kernel ask the judge container beside
it (`sunaba.grading.pod_judge`) over the socket named by `SUNABA_JUDGE_SOCKET`. For each
notebook, in order, a fresh kernel and a fresh executor (nbgrader's `Execute`,
`sunaba.grading.execute`) are forked; the executor prints the executed notebook (and when each
cell ran, for the judge's verdicts) as one JSON line on stdout, which the hub reads back through
the same attach stream. Logs go nowhere.

Kernel and executor share this container's only uid, so what keeps the learner's code away
from the results is that this process and the executors are not dumpable: a process of the
same uid can neither trace them nor open their descriptors under /proc. It can still kill them;
a notebook whose executor dies has no result, which the hub scores as failed, never as passed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

from sunaba.checks.judge_service import SOCKET_ENV
from sunaba.grading.execute import connection_info, execute_and_report, run_kernel
from sunaba.grading.preload import preload
from sunaba.sandbox.enter import close_all_but
from sunaba.sandbox.namespace import PR_SET_CHILD_SUBREAPER, prctl

PR_SET_DUMPABLE = 4
KILL_ROUNDS = 200  # of 10 ms: how long to keep killing what a submission left behind


def _devnull_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def bad_file_name(files) -> str | None:
    """The first name that could leave the directory it is written into, if any."""
    for relative in files:
        parts = Path(relative).parts
        if not parts or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return relative
    return None


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Into a directory created just now: names are checked, nothing is followed."""
    bad = bad_file_name(files)
    if bad is not None:
        raise ValueError(f"提出物のファイル名が不正です: {bad!r}")
    for relative, data in files.items():
        target = root.joinpath(*Path(relative).parts)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def _decode(files: dict[str, str]) -> dict[str, bytes]:
    return {name: base64.b64decode(data) for name, data in files.items()}


# ----------------------------------------------------------------------------------------------
# Forked children (every path ends in os._exit)


def _run_kernel(settings: dict, env: dict, workdir: str, conn_file: str) -> None:
    os.setsid()  # its own process group: an interrupt reaches it and its children only
    _devnull_stdio()
    close_all_but([])  # above all the descriptor the executors print results on
    # A normal process again: the learner's code may inspect itself (psutil, multiprocessing).
    prctl(PR_SET_DUMPABLE, 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    size = settings["max_file_bytes"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    os.environ.clear()
    os.environ.update({**env, "HOME": workdir, "USER": "sunaba-grading"})
    os.chdir(workdir)

    run_kernel(conn_file, settings["max_output"])


def _run_executor(settings, out, info, kernel_pid, name, notebook, workdir, home) -> None:
    _devnull_stdio()
    os.environ.clear()
    os.environ.update({"PATH": settings["env"]["PATH"], "HOME": home, "LANG": "C.UTF-8"})
    os.chdir(home)
    execute_and_report(
        out,
        name,
        notebook,
        connection=info,
        kernel_pid=kernel_pid,
        workdir=workdir,
        cell_timeout=settings["cell_timeout"],
        notebook_timeout=settings["notebook_timeout"],
        max_output=settings["max_output"],
    )


def _fork(target, *args) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            target(*args)
        finally:
            os._exit(0)
    return pid


# ----------------------------------------------------------------------------------------------
# PID 1


def _descendants(root: int) -> list[int]:
    """Every live process below `root`, from /proc (this process is a subreaper, so whatever a
    submission double-forked is still below it)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with (
            contextlib.suppress(OSError, IndexError, ValueError),
            open(f"/proc/{entry}/stat", "rb") as handle,
        ):
            parents[int(entry)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def kill_descendants() -> None:
    """SIGKILL and reap every process this one started, and theirs, until none is left."""
    me = os.getpid()
    for _ in range(KILL_ROUNDS):
        for pid in _descendants(me):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        time.sleep(0.01)


def scratch_env(scratch: Path) -> dict[str, str]:
    """The kernel's temporary and cache directories inside this job's scratch directory, so
    that all of them go when the job ends."""
    tmp = scratch / "tmp"
    tmp.mkdir(mode=0o700, exist_ok=True)
    return {
        "TMPDIR": str(tmp),
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
    }


def run_notebooks(job: dict, out: int, scratch: Path) -> None:
    settings = job["settings"]
    workdir = scratch / "submission"
    workdir.mkdir(mode=0o700)
    write_files(workdir, _decode(job["files"]))
    env = {**settings["env"], **scratch_env(scratch)}
    if os.environ.get(SOCKET_ENV):
        # The judge container's socket (the template sets where): checks are judged there.
        env[SOCKET_ENV] = os.environ[SOCKET_ENV]
    for index, name in enumerate(job["notebooks"]):
        notebook = json.loads(base64.b64decode(job["files"][name]))
        directory = scratch / f"kernel-{index}"
        directory.mkdir(mode=0o700)
        info = connection_info(str(directory), secrets.token_hex(32))
        conn_file = directory / "connection.json"
        conn_file.write_text(json.dumps(info))
        kernel = _fork(_run_kernel, settings, env, str(workdir), str(conn_file))
        executor = _fork(
            _run_executor, settings, out, info, kernel, name, notebook, str(workdir), str(scratch)
        )
        while True:
            try:
                pid, _ = os.wait()
            except ChildProcessError:
                break
            if pid == executor:
                break
        # The kernel, whatever it forked, and anything left of the executor.
        kill_descendants()


def main() -> int:
    # First of all: from here on no process of this uid can read our descriptors or memory.
    prctl(PR_SET_DUMPABLE, 0)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    out = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)

    # Once, before any fork, so each kernel starts in milliseconds; meanwhile the hub attaches.
    preload()
    job_line = sys.stdin.buffer.readline()
    _devnull_stdio()  # stdin too: no child may hold the attach stream
    scratch = Path(tempfile.mkdtemp(prefix="sunaba-grading-", dir=os.environ.get("TMPDIR")))
    try:
        job = json.loads(job_line)
        run_notebooks(job, out, scratch)
    except (ValueError, KeyError, TypeError) as exc:
        line = json.dumps({"error": f"{type(exc).__name__}: {exc}"}, ensure_ascii=False)
        os.write(out, (line + "\n").encode("utf-8"))
        return 2
    finally:
        kill_descendants()
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
