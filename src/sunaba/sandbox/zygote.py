"""Fast start: a root process that has already imported the single-user server and forks one
sandboxed copy of itself per learner.

Starting a learner's server costs about two seconds of CPU, nearly all of it importing
jupyter_server, JupyterLab and their extensions. Here that import happens once. For each spawn
the zygote forks; the child joins the learner's cgroup, takes its limits, unshares mount, PID,
IPC and UTS namespaces, builds the same filesystem view bubblewrap would (namespace.py), forks
PID 1 of the new namespace, which drops to the learner's account and forks the server itself.
Only root can reach the zygote: its socket sits in the 0700 state directory.

With `--preload-kernels` the zygote also imports what kernels need (pandas, numpy, matplotlib,
ipykernel) and PID 1 forks the learner's kernel forkserver beside the server
(kernel_forkserver.py): every learner's kernels then share those pages.

Wire format: one JSON request per connection, one JSON reply ({"pid": n} or {"error": text}).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

from sunaba.sandbox import kernel_forkserver
from sunaba.sandbox.enter import close_all_but, fork_into_sandbox
from sunaba.sandbox.limits import Limits
from sunaba.sandbox.namespace import (
    CLONE_NEWIPC,
    CLONE_NEWUTS,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    drop_privileges,
    enter_root,
    prctl,
)
from sunaba.sandbox.wire import ask, receive, send

PRELOAD = (
    "jupyterhub.singleuser",
    "jupyterhub.singleuser.extension",
    "jupyter_server.serverapp",
    "jupyterlab",
    "jupyterlab.labapp",
    "jupyterlab_server",
    "notebook_shim",
    "jupyter_server_terminals",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.formgrader",
    "notebook",
    "jupyter_lsp",
    "voila",
    # What a started server imports when it sets up its handlers and first requests: imported
    # by each server, they would cost every learner their size and the pages around them.
    "notebook.app",
    "notebook_shim.nbserver",
    "jupyter_lsp.virtual_documents_shadow",
    "jupyter_server.kernelspecs.handlers",
    "jupyter_server.nbconvert.handlers",
    "jupyter_server.services.api.handlers",
    "jupyter_server.services.config.handlers",
    "jupyter_server.services.events.handlers",
    "jupyter_server.services.kernels.handlers",
    "jupyter_server.services.kernelspecs.handlers",
    "jupyter_server.services.nbconvert.handlers",
    "jupyter_server.services.security.handlers",
    "jupyter_server.services.sessions.handlers",
    "jupyter_server.services.shutdown",
    "jupyter_server.view.handlers",
    "jupyter_core.migrate",
    "jinja2.ext",
    "ipykernel.kernelspec",
    "httpcore",
    "sunaba.sandbox.kernel_provisioner",
    "sunaba_portable.exchange.lab_open",
    "sunaba_portable.labserver.saving",
)
MOUNT_ROOT = "/run/sunaba-sandbox-root"
REPLY_TIMEOUT = 30.0
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def preload(kernels: bool = False) -> None:
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if kernels:
        # Every learner's kernel forkserver is then a fork of this process, so pandas, numpy and
        # matplotlib sit in memory once for the whole class, not once per learner.
        kernel_forkserver.preload()
    # Objects imported so far never change: keep the collector from touching (and so copying)
    # their pages in every forked server.
    gc.collect()
    gc.freeze()


# -- the client -------------------------------------------------------------------------


def request_spawn(socket_path: str, request: dict, timeout: float = REPLY_TIMEOUT) -> int:
    """Client side, used by SandboxSpawner: ask the zygote for a server; return its host PID."""
    reply = ask(socket_path, request, timeout)
    if "error" in reply:
        raise RuntimeError(f"sandbox start failed: {reply['error']}")
    return int(reply["pid"])


# -- the children -------------------------------------------------------------------------


def _report(fd: int, message: dict) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def _serve_one(conn: socket.socket, log_fd: int) -> None:
    """First child (root, host PID namespace). It alone reads the request, so one learner's
    token never sits in the memory of the zygote that every later server is forked from."""
    os.setsid()
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    try:
        request = receive(conn)
        _validate(request)
        read_fd, write_fd = os.pipe()
        keep = sorted({conn.fileno(), read_fd, write_fd})
        close_all_but(keep)
        pid = fork_into_sandbox(
            cgroup_procs=request["cgroup_procs"],
            limits=Limits(**request["limits"]),
            namespaces=CLONE_NEWIPC | CLONE_NEWUTS,
            root=MOUNT_ROOT,
            home=request["home"],
            readonly=request["readonly"],
        )
        if pid == 0:
            conn.close()
            os.close(read_fd)
            _sandbox_init(request, write_fd)
        os.close(write_fd)
        reply = _await_children(read_fd, pid)
    except Exception as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        send(conn, reply)
    os._exit(0)


def _sandbox_init(request: dict, report_fd: int) -> None:
    """PID 1 inside the sandbox: finish the view, drop to the learner, run and reap the server."""
    try:
        enter_root(MOUNT_ROOT, request.get("hostname", "sunaba"))
        drop_privileges(request["uid"], request["gid"])
        os.umask(0o022)
        os.chdir(request["home"])
    except Exception as exc:  # reported to the hub, which shows the spawn as failed
        _report(report_fd, {"error": f"{type(exc).__name__}: {exc}"})
        os._exit(1)
    server = os.fork()
    if server == 0:
        os.close(report_fd)
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        _run_server(request)
    if request.get("kernel_forkserver"):
        _start_kernel_forkserver(request, report_fd)
    _report(report_fd, {"ready": True})
    os.close(report_fd)

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            os.kill(server, signum)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == server:
            code = os.waitstatus_to_exitcode(status)
            if code < 0:
                print(
                    f"sunaba sandbox: server killed by signal {-code}", file=sys.stderr, flush=True
                )
            os._exit(code & 0xFF)


def _start_kernel_forkserver(request: dict, report_fd: int) -> None:
    """The learner's kernel forkserver, a sibling of their server under the same PID 1: a fork
    of this zygote, it shares what the zygote imported with every other learner's (the server
    starts it itself when there is no zygote). It ends with the sandbox."""
    if os.fork() != 0:
        return
    code = 1
    try:
        os.close(report_fd)
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        kernel_forkserver.serve(request["kernel_forkserver"])
        code = 0
    except BaseException:
        traceback.print_exc()
    os._exit(code)


def _run_server(request: dict) -> None:
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    try:
        from jupyterhub.singleuser import main

        code = main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)


# -- the server loop ----------------------------------------------------------------------


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _validate(request: dict) -> None:
    if not isinstance(request.get("uid"), int) or request["uid"] < 1000:
        raise ValueError("refusing a system uid")
    if not isinstance(request.get("argv"), list) or not request["argv"]:
        raise ValueError("no command")
    if not Path(request["home"]).is_dir():
        raise ValueError(f"home {request['home']} missing")


def handle(conn: socket.socket, server: socket.socket, log_fd: int) -> None:
    child = os.fork()
    if child == 0:
        server.close()
        _serve_one(conn, log_fd)
    conn.close()


def _await_children(read_fd: int, pid: int) -> dict:
    """Read the sandbox's report until it is ready, fails, or time runs out."""
    buffer = b""
    deadline = time.monotonic() + REPLY_TIMEOUT
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([read_fd], [], [], remaining)
        if not readable:
            break
        chunk = os.read(read_fd, 4096)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            message = json.loads(line)
            if "error" in message:
                return message
            if message.get("ready"):
                return {"pid": pid}
    return {"error": "the sandbox did not report ready in time"}


def serve(socket_path: str, log_path: str | None, preload_kernels: bool = False) -> None:
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    preload(kernels=preload_kernels)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if log_path else 2
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    server.bind(socket_path)
    os.umask(old_umask)
    server.listen(64)
    server.settimeout(0.2)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    print(f"sunaba zygote ready on {socket_path}", flush=True)
    while not stopping:
        _reap()
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        except InterruptedError:
            continue
        conn.settimeout(REPLY_TIMEOUT)
        try:
            handle(conn, server, log_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                send(conn, {"error": f"{type(exc).__name__}: {exc}"})
            conn.close()
    server.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sunaba fast-start server (root only)")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--log")
    parser.add_argument(
        "--preload-kernels",
        action="store_true",
        help="also import what kernels need and start each learner's kernel forkserver",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the zygote must run as root", file=sys.stderr)
        return 1
    serve(args.socket, args.log, args.preload_kernels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
