"""Everything one `sunaba up` starts, kept together so that a stop ends all of it.

JupyterHub starts its proxy, its managed services and the formgraders in sessions of their
own, so neither Ctrl-C nor killing the hub's process group reaches them: a hub that takes
longer than its grace period to stop used to leave them running, and the next start ran a
second set beside them. The run therefore joins a pids cgroup named after its state dir
(inherited by every child, whatever session it starts); when the cgroup is not writable the
run becomes a child subreaper instead, so orphans come back to it. A stop ends what is left
in the group; a start ends what an earlier run of the same state dir left behind (learners'
servers are in cgroups of their own and are ended by the caller).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import time
from pathlib import Path

from sunaba.sandbox.limits import CGROUP_ROOT, cgroup_version

PARENT = "sunaba-run"
PR_SET_CHILD_SUBREAPER = 36


class AlreadyRunning(RuntimeError):
    """Another `sunaba up` runs on the same state dir."""


def _key(state_dir: str) -> str:
    return hashlib.sha256(str(Path(state_dir).resolve()).encode()).hexdigest()[:16]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # The command name may hold spaces and parentheses: read fields after the last ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


class RunGroup:
    def __init__(self, state_dir: str, root: Path = CGROUP_ROOT):
        self.version = cgroup_version(root)
        name = _key(state_dir)
        if self.version == "v1":
            self.directory: Path | None = root / "pids" / PARENT / name
        elif self.version == "v2":
            self.directory = root / PARENT / name
        else:
            self.directory = None

    def pids(self) -> set[int]:
        """Live members other than this process (descendants, without a cgroup)."""
        if self.directory is None:
            return _children_of(os.getpid())
        try:
            members = {int(p) for p in (self.directory / "cgroup.procs").read_text().split()}
        except OSError:
            return set()
        return members - {os.getpid()}

    def join(self) -> None:
        """Put this process (and so everything it starts from now on) in the group."""
        if self.directory is not None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                (self.directory / "cgroup.procs").write_text(str(os.getpid()))
                return
            except OSError:
                self.directory = None
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def end_leftovers(self) -> int:
        """End what an earlier run left; refuse when that run is still alive."""
        pids = self.pids()
        for pid in pids:
            command = _cmdline(pid)
            if any(Path(part).name == "sunaba" for part in command[:2]) and "up" in command:
                raise AlreadyRunning(
                    f"この状態フォルダでは Sunaba がすでに動いています（pid {pid}）。"
                    "先にそちらを止めてください（その端末で Ctrl-C）"
                )
        return self.end(grace=3.0) if pids else 0

    def end(self, grace: float) -> int:
        """SIGTERM every member, give them `grace` seconds, then SIGKILL until none is left;
        returns how many members there were."""
        members = len(self.pids())
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.pids() and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            self._signal_all(signal.SIGKILL)
            self._reap()
            time.sleep(0.05)
        self._reap()
        return members

    def remove(self) -> None:
        """Delete the (empty) group; a run that still has members keeps it."""
        if self.directory is not None:
            with contextlib.suppress(OSError):
                self.directory.rmdir()

    def _signal_all(self, signum: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    @staticmethod
    def _reap() -> None:
        """Collect exited children (adopted orphans too), so they do not linger as zombies."""
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
