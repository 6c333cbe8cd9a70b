"""The kernel forkserver's refusals and the provisioner's handle on a process it did not start
(no kernel, no hub: the kernels themselves are tested in tests/integration)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from traitlets.config import Config

from sunaba.sandbox.kernel_forkserver import (
    PROVISIONER,
    SOCKET_ENV,
    SOCKET_PATH,
    _handle,
    forkable,
)
from sunaba.sandbox.kernel_provisioner import UNKNOWN_EXIT, ForkedKernel
from sunaba.sandbox.spawner import SandboxSpawner
from sunaba.sandbox.wire import receive, send


def ask(request: dict) -> dict:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        send(ours, request)
        _handle(theirs, theirs)
        return receive(ours)


def test_only_an_ipykernel_of_this_python_is_forked():
    assert forkable([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not forkable(["/usr/bin/python3.9", "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not forkable([sys.executable, "-c", "print(1)"])
    reply = ask({"argv": ["/bin/sh", "-c", "id"], "env": {}, "expires": time.time() + 30})
    assert "not an ipykernel" in reply["error"]


def test_a_request_that_waited_too_long_is_not_forked():
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"]
    reply = ask({"argv": argv, "env": {}, "expires": time.time() - 1})
    assert "expired" in reply["error"]


def test_forked_kernel_handle_sees_the_exit_of_a_process():
    proc = subprocess.Popen(["sleep", "60"])
    handle = ForkedKernel(proc.pid)
    assert handle.poll() is None
    handle.send_signal(signal.SIGTERM)
    assert handle.wait(10) == UNKNOWN_EXIT
    handle.kill()  # an exited kernel ignores signals, as a Popen does
    proc.wait()


def test_the_spawner_turns_preloading_on_and_off():
    config = Config()
    config.SandboxSpawner.preload_kernels = True
    spawner = SandboxSpawner(config=config, sandbox_mode="full")
    own = spawner.preload_args(forkserver_started=False)
    assert any(PROVISIONER in arg for arg in own)
    assert any("jpserver_extensions=sunaba.sandbox.kernel_forkserver" in arg for arg in own)
    # Forked by the zygote, the forkserver is already there: the server must not start another.
    from_zygote = spawner.preload_args(forkserver_started=True)
    assert any(PROVISIONER in arg for arg in from_zygote)
    assert not any("jpserver_extensions" in arg for arg in from_zygote)
    assert spawner.forkserver_request() == {"kernel_forkserver": SOCKET_PATH}
    assert SOCKET_ENV in spawner.preload_env()
    off = SandboxSpawner(sandbox_mode="full")  # off by default
    assert off.preload_args(forkserver_started=False) == [] and off.forkserver_request() == {}
    assert SandboxSpawner(config=config, sandbox_mode="none").preload_env() == {}


def test_a_forked_kernel_reads_the_matplotlibrc_of_its_own_environment(tmp_path):
    """The forkserver (with fast start, the zygote) imported matplotlib without the learner's
    MATPLOTLIBRC: each kernel reads it again, or Japanese labels would render as tofu."""
    rc = tmp_path / "matplotlibrc"
    rc.write_text("font.sans-serif: IPAexGothic, DejaVu Sans\naxes.unicode_minus: False\n")
    code = (
        "import os, sys\n"
        "os.environ.pop('MATPLOTLIBRC', None)\n"
        "import matplotlib\n"
        "before = matplotlib.rcParams['font.sans-serif'][0]\n"
        f"os.environ['MATPLOTLIBRC'] = {str(rc)!r}\n"
        "from sunaba.sandbox.kernel_forkserver import _matplotlib\n"
        "_matplotlib()\n"
        "params = matplotlib.rcParams\n"
        "print(before, params['font.sans-serif'][0], params['axes.unicode_minus'],"
        " params['backend'], matplotlib.rcParamsOrig['font.sans-serif'][0], sep='|')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("MPLBACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, font, minus, backend, orig = done.stdout.strip().split("|")
    assert before != "IPAexGothic" and font == "IPAexGothic" and orig == "IPAexGothic", done.stdout
    assert minus == "False"
    assert backend == "module://matplotlib_inline.backend_inline"
