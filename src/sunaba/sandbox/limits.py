"""Memory, CPU and process limits for one learner, through the cgroup version that is writable.

Root can write cgroup v1 controllers on some hosts and v2 on others; rlimits are the fallback
that always works (per process for memory, per Unix user for processes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
LEARNERS_PARENT = "sunaba"  # the default install's; any other install's carries its key
DEFAULT_STATE_DIR = "/var/lib/sunaba"
V1_CONTROLLERS = ("memory", "cpu", "pids")
CPU_PERIOD_US = 100_000


def learner_cgroup_parent(state_dir: str) -> str:
    """The cgroup holding one install's learners: `sunaba` for the default state dir (as it
    always was), `sunaba-<key of the state dir>` for any other, so that two installs whose
    learners have the same account name never share a group or its limits."""
    resolved = str(Path(state_dir).resolve())
    if resolved == DEFAULT_STATE_DIR:
        return LEARNERS_PARENT
    return f"{LEARNERS_PARENT}-{hashlib.sha256(resolved.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    cpu_cores: float
    max_processes: int
    max_file_bytes: int


def cgroup_version(root: Path = CGROUP_ROOT) -> str | None:
    """'v1' or 'v2' if root can create limited groups, else None."""
    if os.geteuid() != 0:
        return None
    if all(os.access(root / c, os.W_OK) for c in V1_CONTROLLERS):
        return "v1"
    controllers = root / "cgroup.controllers"
    if controllers.is_file():
        available = controllers.read_text().split()
        if {"memory", "cpu", "pids"} <= set(available) and os.access(root, os.W_OK):
            return "v2"
    return None


class CgroupGroup:
    """One learner's cgroup (v1: one directory per controller; v2: one directory)."""

    def __init__(self, parent: str, name: str, version: str, root: Path = CGROUP_ROOT):
        self.version = version
        if version == "v1":
            self.dirs = [root / c / parent / name for c in V1_CONTROLLERS]
        else:
            self.dirs = [root / parent / name]
        self.parent = parent
        self.root = root

    def _file(self, controller: str, name: str) -> Path:
        if self.version == "v1":
            return self.root / controller / self.parent / self.dirs[0].name / name
        return self.dirs[0] / name

    def create(self, limits: Limits) -> None:
        for directory in self.dirs:
            directory.mkdir(parents=True, exist_ok=True)
        if self.version == "v1":
            self._file("memory", "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            swap = self._file("memory", "memory.memsw.limit_in_bytes")
            if swap.exists():
                with contextlib.suppress(OSError):
                    swap.write_text(str(limits.memory_bytes))
            quota = int(limits.cpu_cores * CPU_PERIOD_US)
            self._file("cpu", "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            self._file("cpu", "cpu.cfs_quota_us").write_text(str(quota))
            self._file("pids", "pids.max").write_text(str(limits.max_processes))
        else:
            parent = self.root / self.parent
            with contextlib.suppress(OSError):
                (self.root / "cgroup.subtree_control").write_text("+memory +cpu +pids")
            with contextlib.suppress(OSError):
                (parent / "cgroup.subtree_control").write_text("+memory +cpu +pids")
            self._file("", "memory.max").write_text(str(limits.memory_bytes))
            with contextlib.suppress(OSError):
                self._file("", "memory.swap.max").write_text("0")
            quota = int(limits.cpu_cores * CPU_PERIOD_US)
            self._file("", "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
            self._file("", "pids.max").write_text(str(limits.max_processes))

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
        return found

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL everything in the group until it is empty (forks may race the first pass)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids or time.monotonic() > deadline:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self, timeout: float = 0.0) -> bool:
        """rmdir each directory; True when none is left.

        cgroup v1 refuses the rmdir (EBUSY) while killed tasks are still exiting, so a caller
        that may block (not the hub's event loop) passes a `timeout` to kill and retry until
        then.
        """
        deadline = time.monotonic() + timeout
        while True:
            for directory in self.dirs:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            if not any(directory.exists() for directory in self.dirs):
                return True
            if time.monotonic() >= deadline:
                return False
            self.kill_all(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            time.sleep(0.05)


def join_cgroup_files(procs_files: list[str]) -> None:
    """Called in the child before exec: move this process into the learner's cgroup."""
    pid = str(os.getpid())
    for path in procs_files:
        with open(path, "w") as handle:
            handle.write(pid)


def apply_rlimits(limits: Limits, *, memory_by_rlimit: bool, nproc_by_rlimit: bool) -> None:
    """Called in the child before exec. Core dumps off and a file size cap always."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
    if memory_by_rlimit:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    if nproc_by_rlimit:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
