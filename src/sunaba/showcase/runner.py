"""Start, replace and stop apps' Voilà servers, each in its own sandbox.

A new version takes over without downtime: its server starts beside the old one, and only when
it answers (and its preheated kernels are ready, or a time limit passed) do viewers switch to it
and the old one stop. If the new one fails to start, the old one stays live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tornado.httpclient import HTTPClientError

from sunaba.config.schema import SiteConfig
from sunaba.sandbox.limits import CgroupGroup, cgroup_version
from sunaba.showcase.apphome import CGROUP_PARENT, AppHome
from sunaba.showcase.paths import ShowcasePaths, app_user_prefix
from sunaba.showcase.sandboxing import (
    SandboxedRun,
    command,
    preexec,
    sandbox_env,
    script_argv,
)
from sunaba.showcase.sockets import SocketDirectory

log = logging.getLogger("sunaba.showcase")

SERVER_START_TIMEOUT = 60.0


class AppStartFailed(Exception):
    """The app's Voilà server did not come up; `log_tail` says why."""

    def __init__(self, app_id: int, log_tail: str):
        super().__init__(f"app {app_id} did not start")
        self.log_tail = log_tail


@dataclass
class AppProcess:
    app_id: int
    version: int
    proc: subprocess.Popen
    host: str
    socket: Path
    run_dir: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def app_base_url(service_prefix: str, app_id: int) -> str:
    return f"{service_prefix.rstrip('/')}/apps/{app_id}/"


class AppRunner:
    def __init__(
        self, config: SiteConfig, mode: str, service_prefix: str, sockets: SocketDirectory
    ):
        self.config = config
        self.mode = mode
        self.service_prefix = service_prefix
        self.sockets = sockets
        self.paths = ShowcasePaths.from_config(config)
        self.live: dict[int, AppProcess] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.starting: dict[int, asyncio.Task] = {}
        self.failures: dict[int, str] = {}
        # Whether an app should be served at all (set by the showcase: the app is live).
        self.wanted: Callable[[int], bool] = lambda app_id: True
        showcase = config.showcase
        if showcase.viewer_kernels() < showcase.max_kernels:
            log.info(
                "each app serves at most %s viewers' kernels, not %s: that many of %s each fit "
                "in %s beside the Voilà server and %s preheated kernel(s)",
                showcase.viewer_kernels(),
                showcase.max_kernels,
                showcase.kernel_memory,
                showcase.memory_limit,
                showcase.pool_size,
            )

    def lock(self, app_id: int) -> asyncio.Lock:
        return self.locks.setdefault(app_id, asyncio.Lock())

    def home(self, app_id: int) -> AppHome:
        return AppHome(self.config, app_id, self.mode)

    # -- looking up -----------------------------------------------------------------------

    def current(self, app_id: int) -> AppProcess | None:
        process = self.live.get(app_id)
        if process is not None and not process.alive:
            log.warning("app %s (v%s) exited with %s", app_id, process.version, process.proc.poll())
            self._forget(process)
            self.live.pop(app_id, None)
            return None
        return process

    def start_in_background(self, app_id: int, version: int, notebook: str) -> asyncio.Task:
        task = self.starting.get(app_id)
        if task is None or task.done():
            task = asyncio.ensure_future(self.start(app_id, version, notebook, background=True))
            self.starting[app_id] = task
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task

    # -- starting ---------------------------------------------------------------------------

    async def start(
        self, app_id: int, version: int, notebook: str, *, background: bool = False
    ) -> AppProcess | None:
        """Deploy `version` and serve it; the previous process (if any) stops once it is up.

        A `background` start (a viewer's visit, the supervisor) that waited for the lock while
        the app was unpublished does nothing: it would bring back the account just removed.
        """
        async with self.lock(app_id):
            if background and not self.wanted(app_id):
                return None
            home = self.home(app_id)
            identity = await asyncio.to_thread(home.ensure)
            previous = self.current(app_id)
            if previous is None:
                # Leftovers of a service that died without stopping its apps.
                group = home.cgroup()
                if group is not None:
                    await asyncio.to_thread(group.kill_all)
                await asyncio.to_thread(home.remove_run_dirs)
            source = self.paths.version_dir(app_id, version)
            deployed = home.deployed(version)
            if not deployed.exists():
                # A deployed copy is complete (written aside, then renamed) and read-only for
                # the app, so one left by the publish check or an earlier start is reused.
                await asyncio.to_thread(home.deploy, source, version)
            process = self._spawn(home, identity, version, deployed / notebook)
            try:
                await self._wait_ready(process)
            except AppStartFailed as exc:
                self.failures[app_id] = exc.log_tail
                self._kill(process)
                raise
            except BaseException:  # cancelled: the service is stopping
                self._kill(process)
                raise
            self.failures.pop(app_id, None)
            self.live[app_id] = process
            if previous is not None:
                self._kill(previous)
            await asyncio.to_thread(home.prune, {version})
            log.info("app %s serves version %s", app_id, version)
            return process

    def _spawn(self, home: AppHome, identity, version: int, notebook: Path) -> AppProcess:
        group = home.cgroup()
        if group is not None:
            group.create(home.limits)
        run_dir = home.new_run_dir(identity)
        socket_path = run_dir / "voila.sock"
        showcase = self.config.showcase
        settings = {
            "notebook": str(notebook),
            "socket": str(socket_path),
            "base_url": app_base_url(self.service_prefix, home.app_id),
            "pool_size": showcase.pool_size,
            "cell_timeout": showcase.cell_timeout,
            "max_kernels": showcase.viewer_kernels(),
            "idle_timeout": showcase.kernel_idle_timeout,
        }
        run = SandboxedRun(
            identity=identity,
            writable=run_dir,
            readonly=(str(self.paths.prefix), str(notebook.parent)),
            network=False,
            limits=home.limits,
            cgroup=group,
        )
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.paths.logs / f"app{home.app_id}.log"
        with open(log_path, "ab") as log_file:
            log_file.write(f"--- version {version} starting at {time.ctime()}\n".encode())
            log_file.flush()
            # If the service dies without stopping it, the next service start (or `sunaba up`'s
            # cleanup) kills what is left in the app's cgroup.
            proc = subprocess.Popen(
                command(run, script_argv(self.config, "voila_app", json.dumps(settings))),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=sandbox_env(self.config, run),
                preexec_fn=preexec(run),
                start_new_session=True,
            )
        host = f"app-{home.app_id}-{secrets.token_hex(3)}.sock"
        self.sockets.register(host, str(socket_path))
        return AppProcess(home.app_id, version, proc, host, socket_path, run_dir)

    async def status(self, process: AppProcess) -> dict | None:
        url = f"http://{process.host}{app_base_url(self.service_prefix, process.app_id)}_sunaba/status"
        try:
            response = await self.sockets.http.fetch(url, request_timeout=5)
        except (HTTPClientError, OSError):
            return None
        return json.loads(response.body)

    async def _wait_ready(self, process: AppProcess) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if not process.alive:
                raise AppStartFailed(process.app_id, self.log_tail(process.app_id))
            if process.socket.exists() and await self.status(process) is not None:
                break
            if time.monotonic() > deadline:
                raise AppStartFailed(process.app_id, self.log_tail(process.app_id))
            await asyncio.sleep(0.2)
        # Up. Give the preheated pool the time to run the notebook once, so the first viewer
        # after a publish is served warm; past the limit viewers get a fresh kernel instead.
        want = min(1, self.config.showcase.pool_size)
        deadline = time.monotonic() + self.config.showcase.cell_timeout + 30
        while want and time.monotonic() < deadline and process.alive:
            status = await self.status(process)
            if status and status.get("pool_ready", 0) >= want:
                return
            await asyncio.sleep(0.2)

    def log_tail(self, app_id: int, lines: int = 40) -> str:
        path = self.paths.logs / f"app{app_id}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- stopping ---------------------------------------------------------------------------

    def _forget(self, process: AppProcess) -> None:
        self.sockets.unregister(process.host)
        shutil.rmtree(process.run_dir, ignore_errors=True)

    def _kill(self, process: AppProcess) -> None:
        # bwrap runs with --die-with-parent: killing the outer process ends the namespace.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.proc.wait(timeout=5)
        self._forget(process)

    async def stop(self, app_id: int, *, purge: bool = False) -> None:
        """Stop the app's server; with `purge`, also remove its account, home and cgroup
        (the app is no longer live: nothing of it may stay behind)."""
        async with self.lock(app_id):
            process = self.live.pop(app_id, None)
            if process is not None:
                self._kill(process)
            self.failures.pop(app_id, None)
            home = self.home(app_id)
            if purge:
                await asyncio.to_thread(home.purge)
                return
            group = home.cgroup()
            if group is not None:
                await asyncio.to_thread(group.kill_all)
                group.remove()

    def stop_all(self, budget: float = 2.0) -> None:
        """At service exit: quick, synchronous, leaves no app process behind.

        Everything is killed first and waited for after, within one shared time budget: the
        hub gives its services only a few seconds before it stops waiting.
        """
        for task in self.starting.values():
            task.cancel()
        processes = list(self.live.values())
        self.live.clear()
        for process in processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + budget
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.proc.wait(timeout=max(0.05, deadline - time.monotonic()))
            self._forget(process)
        # Every app's group, not only the running ones: a publish check may be under way.
        for group in self.all_groups():
            group.kill_all(timeout=max(0.05, deadline - time.monotonic()))
            group.remove()

    def all_groups(self) -> list[CgroupGroup]:
        version = cgroup_version() if self.mode == "full" else None
        if version is None:
            return []
        root = Path("/sys/fs/cgroup") / ("pids" if version == "v1" else "") / CGROUP_PARENT
        prefix = app_user_prefix(self.config)
        names = [d.name for d in root.glob(f"{prefix}app*")] if root.is_dir() else []
        return [CgroupGroup(CGROUP_PARENT, name, version) for name in names]
