"""SandboxSpawner: LocalProcessSpawner, with each learner's server enclosed.

`full` (hub runs as root): a Unix account per learner, the server inside a bubblewrap namespace,
and the account's processes in a cgroup with memory, CPU and process limits.
`bubblewrap` (hub not root): the same namespace and a private home per learner, all under the
hub's own uid. `none`: a plain local process, for a throwaway demo only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import subprocess
from dataclasses import asdict
from pathlib import Path

import psutil
from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Bool, Float, Integer, List, Unicode, default

from sunaba.sandbox.accounts import ensure_home_root, ensure_sandbox_user, unix_name
from sunaba.sandbox.bwrap import SandboxLayout, bwrap_args, find_bwrap
from sunaba.sandbox.firewall import KERNEL_RUNTIME_DIR, kernel_config_dir, write_kernel_config
from sunaba.sandbox.kernel_forkserver import PreloadedKernels
from sunaba.sandbox.limits import (
    CgroupGroup,
    Limits,
    apply_rlimits,
    cgroup_version,
    join_cgroup_files,
)
from sunaba.sandbox.ports import alive, process_tree
from sunaba.sandbox.server_endpoint import ServerEndpoint
from sunaba.sandbox.zygote import request_spawn

MODES = ("full", "bubblewrap", "none")


class SandboxSpawner(ServerEndpoint, PreloadedKernels, LocalProcessSpawner):
    sandbox_mode = Unicode(
        "full", help="Isolation in force: full, bubblewrap or none (resolved by `sunaba doctor`)."
    ).tag(config=True)
    user_prefix = Unicode("sb-", help="Prefix of each learner's Unix account.").tag(config=True)
    kernels_over_ipc = Bool(
        True, help="Kernels over Unix sockets (the network policy refuses loopback TCP)."
    ).tag(config=True)
    home_root = Unicode("/home/sunaba", help="Directory of learners' homes.").tag(config=True)
    readonly_paths = List(
        Unicode(), help="Host directories mounted read-only at the same path in every sandbox."
    ).tag(config=True)
    memory_limit_bytes = Integer(1024**3, help="Memory for server plus kernels.").tag(config=True)
    cpu_limit_cores = Float(1.0, help="CPU cores at most.").tag(config=True)
    max_processes = Integer(128, help="Processes and threads at most.").tag(config=True)
    max_file_bytes = Integer(2 * 1024**3, help="Largest file a process may write.").tag(config=True)
    zygote_socket = Unicode(
        "",
        help="Socket of the fast-start server (zygote.py); empty: start each server with "
        "bubblewrap instead.",
    ).tag(config=True)
    cgroup_parent = Unicode(
        "sunaba", help="cgroup (under each controller) that holds one group per learner."
    ).tag(config=True)

    @default("interrupt_timeout")
    def _interrupt_timeout(self):
        # A graceful stop must fit in `sunaba up`'s 15 s shutdown budget.
        return 4

    @default("term_timeout")
    def _term_timeout(self):
        return 3

    @default("kill_timeout")
    def _kill_timeout(self):
        return 2

    # -- names and places ---------------------------------------------------------------

    @property
    def account(self) -> str:
        return unix_name(self.user_prefix, self.user.name)

    @property
    def home(self) -> str:
        return str(Path(self.home_root) / self.account)

    @property
    def limits(self) -> Limits:
        return Limits(
            memory_bytes=self.memory_limit_bytes,
            cpu_cores=self.cpu_limit_cores,
            max_processes=self.max_processes,
            max_file_bytes=self.max_file_bytes,
        )

    def _cgroup(self) -> CgroupGroup | None:
        version = cgroup_version() if self.sandbox_mode == "full" else None
        if version is None:
            return None
        return CgroupGroup(self.cgroup_parent, self.account, version)

    # -- environment ----------------------------------------------------------------------

    def user_env(self, env):
        env["USER"] = self.account if self.sandbox_mode == "full" else self.user.name
        env["HOME"] = self.home
        env["SHELL"] = "/bin/bash"
        env.update(self.preload_env())
        if self._kernels_over_ipc():
            # Kernels over Unix sockets in the sandbox's private /tmp (a short path: a socket
            # path has at most 107 bytes): the network policy refuses loopback TCP.
            env["JUPYTER_RUNTIME_DIR"] = KERNEL_RUNTIME_DIR
            kernels = kernel_config_dir(self._venv())
            if kernels.is_dir():
                paths = [str(kernels), env.get("JUPYTER_CONFIG_PATH", "")]
                env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in paths if p)
        return env

    def _kernels_over_ipc(self) -> bool:
        return self.sandbox_mode != "none" and self.kernels_over_ipc

    def _venv(self) -> Path:
        return Path(self.cmd[0]).parent.parent

    def get_args(self):
        # JupyterLab fixes its workspaces folder when it is imported, from the importing
        # process's home: for a server forked from the zygote that is the zygote's (/root),
        # where the learner cannot write, and the layout of their JupyterLab is never saved.
        workspaces = os.path.join(self.home, ".jupyter", "lab", "workspaces")
        args = [
            *super().get_args(),
            f"--LabApp.workspaces_dir={workspaces}",
            *self.preload_args(forkserver_started=self._use_zygote()),
        ]
        if self._kernels_over_ipc():
            args.append("--KernelManager.transport=ipc")
        return args

    # -- start ----------------------------------------------------------------------------

    def _prepare_home(self) -> None:
        if self._kernels_over_ipc():
            with contextlib.suppress(OSError):  # a hub that cannot write the prefix: flag only
                write_kernel_config(self._venv())
        if self.sandbox_mode == "full":
            ensure_sandbox_user(self.account, Path(self.home_root))
            return
        ensure_home_root(Path(self.home_root))
        Path(self.home).mkdir(mode=0o700, exist_ok=True)

    def make_preexec_fn(self, name):
        mode = self.sandbox_mode
        limits = self.limits
        group = self._cgroup()
        if group is not None:
            group.create(limits)
        procs_files = group.procs_files() if group else []
        if mode == "full":
            entry = pwd.getpwnam(self.account)
            uid, gid = entry.pw_uid, entry.pw_gid
        home = self.home

        def preexec():
            # Runs in the child between fork and exec, still as the hub's user.
            if procs_files:
                join_cgroup_files(procs_files)
            apply_rlimits(
                limits,
                memory_by_rlimit=group is None and mode != "none",
                nproc_by_rlimit=mode == "full",
            )
            if mode == "full":
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            os.chdir(home)

        return preexec

    def _wrapped_cmd(self) -> list[str]:
        if self.sandbox_mode == "none":
            return []
        bwrap = find_bwrap()
        if bwrap is None:
            raise RuntimeError("bubblewrap (bwrap) is not installed; run `sunaba doctor`")
        layout = SandboxLayout(home=self.home, readonly=self.readonly_paths)
        return bwrap_args(layout, bwrap)

    def _use_zygote(self) -> bool:
        return (
            self.sandbox_mode == "full"
            and bool(self.zygote_socket)
            and os.path.exists(self.zygote_socket)
        )

    async def _start_forked(self):
        """Ask the zygote for a forked, pre-imported server already inside its sandbox."""
        entry = pwd.getpwnam(self.account)
        group = self._cgroup()
        if group is not None:
            group.create(self.limits)
        request = {
            "uid": entry.pw_uid,
            "gid": entry.pw_gid,
            "home": self.home,
            "env": self.get_env(),
            "argv": [*self.cmd, *self.get_args()],
            "cgroup_procs": group.procs_files() if group else [],
            "limits": asdict(self.limits),
            "readonly": list(self.readonly_paths),
            **self.forkserver_request(),
        }
        self.log.info("Starting %s's server through the zygote", self.user.name)
        loop = asyncio.get_running_loop()
        self.pid = await loop.run_in_executor(None, request_spawn, self.zygote_socket, request)
        return (self.ip or "127.0.0.1", self.port)

    async def start(self):
        await asyncio.get_running_loop().run_in_executor(None, self._prepare_home)
        return await self._start_on_own_port()

    async def _start_once(self):
        if self._use_zygote():
            return await self._start_forked()
        stock_cmd = self.cmd
        self.cmd = self._wrapped_cmd() + list(stock_cmd)
        try:
            return await super().start()
        finally:
            self.cmd = stock_cmd

    def _attempt_running(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return bool(self.pid) and alive(self.pid)

    def _attempt_pids(self) -> set[int]:
        group = self._cgroup()
        pids = group.pids() if group is not None else set()
        return pids | process_tree(self.pid) if self.pid else pids

    async def _end_attempt(self) -> None:
        """Whatever is left of an attempt that did not listen."""
        with contextlib.suppress(OSError, psutil.Error):
            await self._signal(signal.SIGKILL)
        if self.proc is not None:
            proc, self.proc = self.proc, None
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.get_running_loop().run_in_executor(None, proc.wait, 10)
        self.pid = 0

    # -- stop -----------------------------------------------------------------------------

    def _server_process(self) -> psutil.Process | None:
        """The process to ask for a clean shutdown. Under bwrap that is the server inside
        (outer bwrap → bwrap init → server): bwrap does not forward signals. A zygote-started
        sandbox's init forwards them itself."""
        try:
            outer = psutil.Process(self.pid)
            if Path(outer.exe()).name != "bwrap":
                return outer
            for child in outer.children(recursive=True):
                if Path(child.exe()).name != "bwrap":
                    return child
        except (psutil.NoSuchProcess, psutil.AccessDenied, FileNotFoundError):
            return None
        return None

    async def _signal(self, sig):
        if not self.pid:
            return False
        if sig in (signal.SIGINT, signal.SIGTERM) and self.sandbox_mode != "none":
            # bwrap does not forward signals: ask the server itself to shut down cleanly.
            server = self._server_process()
            if server is not None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    server.send_signal(sig)
                return True
        if sig == signal.SIGKILL:
            group = self._cgroup()
            if group is not None:
                group.kill_all()
            else:
                with contextlib.suppress(psutil.NoSuchProcess):
                    for child in psutil.Process(self.pid).children(recursive=True):
                        with contextlib.suppress(psutil.NoSuchProcess):
                            child.kill()
        return await super()._signal(sig)

    def clear_state(self):
        # Also when the hub finds the server dead by polling it (stop() is not called then).
        self._release_port()
        super().clear_state()

    async def stop(self, now=False):
        self._release_port()
        await super().stop(now=now)
        group = self._cgroup()
        if group is not None:
            # Kernels started by the server leave with it; anything that escaped is killed.
            group.kill_all()
            group.remove()
