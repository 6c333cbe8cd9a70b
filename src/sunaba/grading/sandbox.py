"""Inside a grading sandbox: the processes the local pool (`sunaba.grading.pool`) forks, one
sandbox per submission.

The forked child, still root, joins a cgroup of its own (memory, CPU, processes), takes rlimits,
unshares mount, PID, IPC, UTS and network namespaces, and builds a filesystem view holding only
the system, the runtime prefix and the public datasets (read-only), the submission's own
directory and the directory of its judge's socket. No grader is there: the learner's checks are
judged outside, by a judge of their own (`sunaba.grading.judging`), whose record decides the test
cells. Its PID 1 then, for each notebook, forks

- the kernel, as a throwaway uid that owns the submission directory and runs learners' code;
- the executor, as a second throwaway uid, running nbgrader's Execute against that kernel and
  writing the executed notebook, one JSON line per notebook, into a pipe only the parent reads.

No account has to exist for those uids; nothing outside the submission's directory belongs to
them, and every process of a sandbox dies with its PID 1. Every path here ends in os._exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import traceback

from sunaba.grading.jobs import SandboxSettings
from sunaba.sandbox.enter import close_all_but, fork_into_sandbox
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
HOSTNAME = "sunaba-grading"


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
    # execute runs inside the sandbox; the grader account's side never needs it.
    from sunaba.grading.execute import run_kernel

    run_kernel(conn, settings.max_output)


def _run_executor(settings, workdir, uid, gid, info, kernel_pid, name, notebook):
    # execute runs inside the sandbox; the grader account's side never needs it.
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
    # execute runs inside the sandbox; the grader account's side never needs it.
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


def sandbox_child(settings, notebooks, workdir, uids, group, result_fd) -> None:
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
