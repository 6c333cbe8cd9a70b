"""Pre-imported kernels: a process in the learner's sandbox that has imported ipykernel,
numpy, pandas and matplotlib and forks one kernel per request.

It runs inside the learner's sandbox, as the learner, in the learner's cgroup and under the
learner's limits; every kernel it forks inherits all of that. With fast start the zygote, which
imported all of it once for the machine, forks it beside the learner's server under the
sandbox's PID 1 (`zygote._start_kernel_forkserver`): the imported pages are then shared by every
learner's kernels. Otherwise the server starts it when it loads this module as a server
extension, and it imports them itself. Either way it ends with the server (the sandbox's PID
namespace, or the parent-death signal) and its kernels end with it (their parent poller). Its
socket sits in a 0700 directory of the sandbox's private /tmp: only the learner's own processes
can ask it for a kernel, which they could start anyway. It and its kernels are named
`sunaba-kernels` and `ipykernel` (what `ps` shows; a fork keeps its parent's command line).

A kernel is forked, never exec'd: each child starts a new session, takes the environment and
working directory of the request, reseeds `random` and numpy's global generator (a fork
inherits its parent's random state), and runs IPKernelApp with the request's arguments.
Wire format: `wire.py` (one length-prefixed JSON request, one reply {"pid": n} or
{"error": text}).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

from traitlets import Bool, HasTraits

from sunaba.sandbox.wire import ask, receive, send

SOCKET_ENV = "SUNABA_KERNEL_FORKSERVER"
SOCKET_DIR = "/tmp/.sunaba-kernels"
SOCKET_PATH = f"{SOCKET_DIR}/fork.sock"
# What a learner's first cell most often needs, and what IPKernelApp itself imports. A module
# left out is imported by every kernel on its own: its objects then fill the free slots of
# pages the kernel shares, so each costs its size and the pages around it (without the
# debugger's modules, about 10 MiB more per kernel; measured in bench_kernels.py).
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "jedi",
    "psutil",
    "tornado.platform.asyncio",
    "numpy",
    "pandas",
    "pyarrow.pandas_compat",
    "matplotlib",
    "matplotlib_inline.backend_inline",
    "sunaba.datasets",
    "sunaba.checks",
)
LAUNCHER = "ipykernel_launcher"
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
# The names `ps` and `top` show (a forked process keeps its parent's command line).
PROCESS_NAME = b"sunaba-kernels"
KERNEL_NAME = b"ipykernel"
PROVISIONER = "sunaba-forked"


class PreloadedKernels(HasTraits):
    """The spawner's side (a mixin of SandboxSpawner): a sandboxed server starts the
    forkserver (this module as a server extension) and takes its kernels from it."""

    preload_kernels = Bool(
        False, help="Kernels forked from a process in the sandbox that has imported pandas."
    ).tag(config=True)

    def _preloading(self) -> bool:
        return self.preload_kernels and self.sandbox_mode != "none"

    def preload_env(self) -> dict[str, str]:
        return {SOCKET_ENV: SOCKET_PATH} if self._preloading() else {}

    def preload_args(self, forkserver_started: bool) -> list[str]:
        """The server's arguments; it starts the forkserver itself unless the zygote did."""
        if not self._preloading():
            return []
        provisioner = f"--KernelProvisionerFactory.default_provisioner_name={PROVISIONER}"
        if forkserver_started:
            return [provisioner]
        return [f"--ServerApp.jpserver_extensions={__name__}=True", provisioner]

    def forkserver_request(self) -> dict[str, str]:
        """What the zygote's request adds: the socket its forkserver for this server listens on."""
        return {"kernel_forkserver": SOCKET_PATH} if self._preloading() else {}


def preload() -> list[str]:
    """Import what kernels need; return what could not be imported."""
    # No GUI probing while importing; each kernel gets its own backend back (`_matplotlib`).
    os.environ.setdefault("MPLBACKEND", "Agg")
    missing = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            missing.append(name)
    os.environ.pop("MPLBACKEND", None)
    # Imported objects never change: keep the collector from touching (so copying) their pages.
    gc.collect()
    gc.freeze()
    return missing


def request_kernel(socket_path: str, request: dict, timeout: float = 60.0) -> int:
    """Client side (the provisioner): ask the forkserver for a kernel; return its PID."""
    # A request still queued when the provisioner has given up (and launched the kernel the
    # ordinary way) must never be forked too: both kernels would claim one connection file.
    reply = ask(socket_path, {**request, "expires": time.time() + timeout - 2}, timeout)
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return int(reply["pid"])


def forkable(argv: list[str]) -> bool:
    """An ipykernel command line for this very interpreter."""
    return (
        len(argv) >= 3
        and argv[1:3] == ["-m", LAUNCHER]
        and os.path.realpath(argv[0]) == os.path.realpath(sys.executable)
    )


# -- the kernel -----------------------------------------------------------------------------


def _reseed() -> None:
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _matplotlib() -> None:
    """The settings a fresh kernel would read when it imports matplotlib: the matplotlibrc its
    own environment names (MATPLOTLIBRC: the site's Japanese fonts), its own config and cache
    folders, and ipykernel's inline backend unless MPLBACKEND says. The forkserver imported
    matplotlib under another environment (with fast start, the zygote's)."""
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is None:
        return
    # Both folders are worked out once per process and remembered: forget the importer's.
    for name, label in (("get_configdir", "CONFIGDIR=%s"), ("get_cachedir", "CACHEDIR=%s")):
        found = getattr(matplotlib, name)
        setattr(matplotlib, name, matplotlib._logged_cached(label, found.__wrapped__))
    fresh = matplotlib.RcParams()
    fresh._update_raw(matplotlib.rcParamsDefault)
    fresh._update_raw(matplotlib._rc_params_in_file(matplotlib.matplotlib_fname()))
    fresh["backend"] = os.environ["MPLBACKEND"]
    matplotlib.rcParams._update_raw(fresh)
    matplotlib.rcParamsOrig = matplotlib.rcParams.copy()


def _run_kernel(request: dict) -> None:
    """In the forked child: become the kernel the request describes; never returns."""
    code = 1
    try:
        os.setsid()
        _prctl(PR_SET_NAME, KERNEL_NAME)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.environ.clear()
        os.environ.update(request["env"])
        # The kernel ends when this forkserver does, as a kernel launched by the server would
        # when the server ends (ipykernel read JPY_PARENT_PID when imported here: say it again).
        parent = str(os.getppid())
        os.environ["JPY_PARENT_PID"] = parent
        if request.get("cwd"):  # else the server's own, as for a kernel it launches
            os.chdir(request["cwd"])
        _reseed()
        _matplotlib()
        sys.argv = [LAUNCHER, *request["argv"][3:], f"--IPKernelApp.parent_handle={parent}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


# -- the server loop --------------------------------------------------------------------------


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _handle(conn: socket.socket, listener: socket.socket) -> None:
    request = receive(conn)
    argv = request.get("argv")
    if not isinstance(argv, list) or not forkable(argv):
        send(conn, {"error": f"not an ipykernel command for {sys.executable}: {argv!r}"})
        return
    if not isinstance(request.get("env"), dict):
        send(conn, {"error": "no environment"})
        return
    if time.time() > float(request.get("expires", 0)):
        send(conn, {"error": "the request expired while the forkserver was busy"})
        return
    pid = os.fork()
    if pid == 0:
        listener.close()
        conn.close()
        _run_kernel(request)
    try:
        send(conn, {"pid": pid})
    except OSError:  # the provisioner is gone: nobody would ever manage this kernel
        os.kill(pid, signal.SIGKILL)
        raise


def _listen(path: str) -> socket.socket:
    directory = Path(path).parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    return listener


def serve(path: str) -> None:
    # Imports first, then listen: a kernel asked for while the imports run starts the ordinary
    # way at once (no socket yet) instead of waiting for them. In a class, learners open a
    # notebook seconds after their server starts; waiting made that first kernel slower than a
    # cold start (benchmarks/bench_class.py). Later kernels are forked.
    _prctl(PR_SET_NAME, PROCESS_NAME)
    missing = preload()
    if missing:
        print(f"sunaba kernel forkserver: not preloaded: {', '.join(missing)}", file=sys.stderr)
    listener = _listen(path)
    listener.settimeout(0.5)
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is for a kernel, not for us
    print(f"sunaba kernel forkserver ready on {path}", file=sys.stderr, flush=True)
    while not stopping:
        _reap()
        try:
            conn, _ = listener.accept()
        except (TimeoutError, InterruptedError):
            continue
        with conn:
            conn.settimeout(10)
            try:
                _handle(conn, listener)
            except (OSError, ValueError) as exc:
                with contextlib.suppress(OSError):
                    send(conn, {"error": f"{type(exc).__name__}: {exc}"})
    listener.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# -- started by the learner's server ------------------------------------------------------------


def _prctl(option: int, value) -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(path: str):
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "sunaba.sandbox.kernel_forkserver", "--socket", path],
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - the server is single-threaded here
    )


def _load_jupyter_server_extension(serverapp) -> None:
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return
    try:
        process = start(path)
    except OSError as exc:
        serverapp.log.warning("sunaba: kernel forkserver not started (%s); cold kernels", exc)
        return
    serverapp.log.info("sunaba: kernel forkserver %s starting on %s", process.pid, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sunaba kernel forkserver (in a sandbox)")
    parser.add_argument("--socket", default=SOCKET_PATH)
    serve(parser.parse_args(argv).socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
