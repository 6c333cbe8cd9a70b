"""Run a sandboxed script to completion (snapshot, headless check, thumbnail) without blocking
the service, and kill it with everything it started if it overruns its time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from sunaba.config.schema import SiteConfig
from sunaba.showcase.sandboxing import SandboxedRun, command, preexec, sandbox_env


@dataclass(frozen=True)
class JobResult:
    returncode: int | None  # None: killed after the time limit
    stdout: bytes
    stderr: bytes

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


async def run_job(
    config: SiteConfig,
    run: SandboxedRun,
    argv: Sequence[str],
    *,
    timeout: float,
    stdin: bytes | None = None,
    max_output: int = 256 * 1024 * 1024,
) -> JobResult:
    proc = await asyncio.create_subprocess_exec(
        *command(run, argv),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=sandbox_env(config, run),
        preexec_fn=preexec(run),
        start_new_session=True,
        limit=max_output,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except TimeoutError:
        kill_tree(proc.pid)
        await proc.wait()
        return JobResult(None, b"", b"")
    except BaseException:
        kill_tree(proc.pid)
        raise
    return JobResult(proc.returncode, stdout, stderr)


def kill_tree(pid: int) -> None:
    # bwrap runs with --die-with-parent: killing the outer process ends the whole namespace.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
