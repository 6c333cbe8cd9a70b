"""Viewers' kernels that take everything they started with them when they go.

A notebook may start processes of its own (`subprocess.Popen(["sleep", "4321"])`, a helper
server, a daemon that detaches). Stock Jupyter stops only the kernel process, so those would
stay in the app until it is unpublished. Here every kernel is launched with a tag in its
environment (`SUNABA_KERNEL=<kernel id>`), which its children inherit, and in a session of its
own (jupyter_client does that). When the kernel is shut down, restarted or culled, every process
of the app that carries its tag or belongs to its session is killed; a periodic sweep also kills
tagged processes whose kernel is gone by other means (it crashed or was killed).

Only the app's own processes are visible here (the sandbox has its own PID namespace; an app pod
has its own container), so nothing else can be hit. A process that both leaves the session and
scrubs its environment escapes; it still ends when the app stops (its cgroup or pod goes).

Runs inside the app's sandbox: imports only the standard library and the runtime's Jupyter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

TAG = "SUNABA_KERNEL"
PROC = Path("/proc")
REAP_ROUNDS = 20  # forks may race one pass; each round waits a little (at most about 2 s)
SWEEP_INTERVAL = 15.0

log = logging.getLogger("sunaba.showcase.app")

# Kernels of this server that are starting or running: their tagged processes are left alone.
LIVE: set[str] = set()


def process_ids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def session_of(pid: int) -> int | None:
    """The session id of `pid` (field 6 of /proc/PID/stat, after the command name)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[3]) if len(fields) > 3 else None


def kernel_tag(pid: int) -> str | None:
    """The kernel id a process was started for, read from its environment, or None."""
    try:
        environ = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    prefix = f"{TAG}=".encode()
    for item in environ.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def belongs(pid: int, kernel_id: str | None, session: int | None) -> bool:
    """Whether `pid` was started by the kernel `kernel_id` (None: by any kernel that is no
    longer live) or is in the kernel's session `session`."""
    if session is not None and session_of(pid) == session:
        return True
    tag = kernel_tag(pid)
    if tag is None:
        return False
    return tag == kernel_id if kernel_id is not None else tag not in LIVE


def kill_pass(kernel_id: str | None, session: int | None = None) -> int:
    """SIGKILL every matching process once; return how many were found."""
    own = os.getpid()
    found = 0
    for pid in process_ids():
        if pid != own and belongs(pid, kernel_id, session):
            found += 1
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return found


async def reap(kernel_id: str | None, session: int | None = None) -> None:
    """Kill what matches until nothing does (or the rounds run out)."""
    for _ in range(REAP_ROUNDS):
        if not kill_pass(kernel_id, session):
            return
        await asyncio.sleep(0.1)


async def sweep_forever(interval: float = SWEEP_INTERVAL) -> None:
    """Kill, now and then, processes left by kernels that went without a shutdown."""
    while True:
        await asyncio.sleep(interval)
        try:
            await reap(None)
        except Exception:  # the sweep must outlive one bad /proc read
            log.exception("sweeping kernels' leftover processes failed")


class ReapingKernelManager(ServerKernelManager):
    """The kernel manager of each viewer's kernel: tags the kernel and, when it stops (shutdown,
    restart, cull), kills every process it started."""

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        env = dict(kw.get("env") or os.environ)
        env[TAG] = self.kernel_id
        kw["env"] = env
        LIVE.add(self.kernel_id)
        return cmd, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        session = getattr(self.provisioner, "pid", None) if self.provisioner else None
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart:
                LIVE.discard(self.kernel_id)
            await reap(self.kernel_id, session)

    cleanup_resources = _async_cleanup_resources

    @classmethod
    def dotted_name(cls) -> str:
        """What to give `MappingKernelManager.kernel_manager_class` (which imports by name)."""
        return f"{cls.__module__}.{cls.__qualname__}"
