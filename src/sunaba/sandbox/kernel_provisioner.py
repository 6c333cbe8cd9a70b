"""A jupyter_client kernel provisioner that takes kernels from the server's kernel forkserver
(kernel_forkserver.py) and falls back to the ordinary launch when it cannot.

Registered as `sunaba-forked` (entry point `jupyter_client.kernel_provisioners`); the spawner
makes it the default provisioner of a sandboxed server when `sandbox.preload_kernels` is on.
A forked kernel is the forkserver's child, not the server's: `ForkedKernel` watches it through
a pidfd (exit seen without being its parent, and no mistaking a reused PID) and signals it and
its session's process group as LocalProvisioner signals a kernel it launched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from sunaba.sandbox.kernel_forkserver import SOCKET_ENV, forkable, request_kernel

# A forked kernel's exit status is its parent's (the forkserver's) to read: not known here.
UNKNOWN_EXIT = -1


class ForkedKernel:
    """What LocalProvisioner expects of a Popen, for a process that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd: int | None = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            readable, _, _ = select.select([self._pidfd], [], [], 0)
            if readable:
                self._exited()
        return self.returncode

    def _exited(self) -> None:
        self.returncode = UNKNOWN_EXIT
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"kernel {self.pid} still running")
            select.select([self._pidfd], [], [], left)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # a Popen that has exited ignores signals too
            with contextlib.suppress(ProcessLookupError):  # exited just now
                signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __del__(self):
        if self._pidfd is not None:
            os.close(self._pidfd)


class ForkedKernelProvisioner(LocalProvisioner):
    """LocalProvisioner whose kernels come forked from a process that has imported pandas."""

    def _why_not_forked(self, cmd: list[str]) -> str | None:
        path = os.environ.get(SOCKET_ENV)
        if not path:
            return f"{SOCKET_ENV} is not set"
        if not Path(path).exists():
            return f"no forkserver socket at {path}"
        if not forkable(cmd):
            return f"not an ipykernel of this Python: {cmd[:3]}"
        return None

    async def _fork(self, cmd: list[str], kwargs: dict[str, Any]) -> ForkedKernel:
        env = kwargs.get("env") or dict(os.environ)
        request = {"argv": cmd, "env": env, "cwd": str(kwargs.get("cwd") or "")}
        loop = asyncio.get_running_loop()
        path = os.environ[SOCKET_ENV]
        pid = await loop.run_in_executor(None, request_kernel, path, request)
        return ForkedKernel(pid)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        reason = self._why_not_forked(cmd)
        if reason is None:
            try:
                process = await self._fork(cmd, kwargs)
            except (OSError, RuntimeError, ValueError) as exc:
                reason = f"forkserver failed: {type(exc).__name__}: {exc}"
        if reason is not None:
            self.log.warning("Kernel started without the forkserver: %s", reason)
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process
        self.pid = self.pgid = process.pid  # the kernel leads a session of its own
        self.cwd = kwargs.get("cwd", Path.cwd())
        self.log.info("Kernel %s forked by the forkserver (pid %s)", self.kernel_id, self.pid)
        return self.connection_info
