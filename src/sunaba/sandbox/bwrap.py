"""Build the bubblewrap command line that encloses a learner's server.

Only what a learner needs is mounted: the system's /usr and /etc read-only, the runtime prefix
and shared read-only data, their own home read-write, and a private /tmp. The hub's state dir,
other homes, /root and the checkout do not exist inside.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "bwrap"
# Debian has a merged /usr: the top-level names are symlinks into it.
USR_SYMLINKS = ("bin", "sbin", "lib", "lib64")


@dataclass(frozen=True)
class SandboxLayout:
    home: str
    readonly: Sequence[str] = field(default_factory=tuple)
    hostname: str = "sunaba"


def find_bwrap() -> str | None:
    return shutil.which(BWRAP)


def _system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in USR_SYMLINKS:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", str(top.readlink()), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    return args + ["--ro-bind", "/etc", "/etc"]


def bwrap_args(layout: SandboxLayout, bwrap: str = BWRAP) -> list[str]:
    """The bwrap prefix for a command; append the command itself after it."""
    args = [
        bwrap,
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        layout.hostname,
        # A new session stops a sandboxed process from pushing keystrokes into a terminal.
        "--new-session",
        *_system_mounts(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # /tmp must come before any bind below /tmp, or the tmpfs would hide it.
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var/tmp",
    ]
    for path in dict.fromkeys(layout.readonly):
        if Path(path).exists():
            args += ["--ro-bind", path, path]
    args += ["--bind", layout.home, layout.home, "--chdir", layout.home, "--"]
    return args
