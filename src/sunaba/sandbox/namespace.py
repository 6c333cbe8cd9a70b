"""Enter a learner's sandbox from inside a process, without exec: the same view bubblewrap gives
(see bwrap.py), built with unshare, mount and pivot_root while still root, then dropped to the
learner's account. The fast-start server (zygote.py) uses it so that a forked, pre-imported
server never needs to exec a new interpreter."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import socket
from pathlib import Path

from sunaba.sandbox.bwrap import USR_SYMLINKS

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}[platform.machine()]
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
OLD_ROOT = ".oldroot"


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _b(value: str | None) -> bytes | None:
    return None if value is None else value.encode()


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl {option}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root")


def umount_detach(target: str) -> None:
    _check(_libc.umount2(_b(target), MNT_DETACH), f"umount {target}")


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _bind(source: str, root: str, *, readonly: bool, is_dir: bool = True) -> None:
    target = _inside(root, source)
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        Path(target).touch()
    mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC)


def _tmpfs(root: str, path: str, mode: str) -> None:
    target = _inside(root, path)
    os.makedirs(target, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode}")


def build_root(root: str, home: str, readonly: list[str]) -> None:
    """In a fresh mount namespace (as root): a tmpfs at `root` holding only the learner's view."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=8m")
    _bind("/usr", root, readonly=True)
    for name in USR_SYMLINKS:
        top = Path("/") / name
        if top.is_symlink():
            os.symlink(os.readlink(top), _inside(root, str(top)))
        elif top.is_dir():
            _bind(str(top), root, readonly=True)
    _bind("/etc", root, readonly=True)
    # /tmp first, so that a home or read-only path below /tmp is not hidden by it.
    _tmpfs(root, "/tmp", "1777")
    _tmpfs(root, "/var/tmp", "1777")
    _make_dev(root)
    for path in dict.fromkeys(readonly):
        if os.path.isdir(path) and not _covered(path):
            _bind(path, root, readonly=True)
    _bind(home, root, readonly=False)
    os.makedirs(_inside(root, "/proc"), exist_ok=True)
    os.makedirs(_inside(root, OLD_ROOT), exist_ok=True)


def _covered(path: str) -> bool:
    """Paths under /usr or /etc are already visible read-only."""
    return any(path == top or path.startswith(top + "/") for top in ("/usr", "/etc"))


def _make_dev(root: str) -> None:
    _tmpfs(root, "/dev", "0755")
    dev = _inside(root, "/dev")
    for name in DEVICES:
        _bind(f"/dev/{name}", root, readonly=False, is_dir=False)
    os.makedirs(f"{dev}/shm")
    mount("tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.makedirs(f"{dev}/pts")
    mount(
        "devpts",
        f"{dev}/pts",
        "devpts",
        MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620",
    )
    os.symlink("pts/ptmx", f"{dev}/ptmx")
    for index, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{index}", f"{dev}/{name}")
    os.symlink("/proc/self/fd", f"{dev}/fd")


def enter_root(root: str, hostname: str) -> None:
    """As PID 1 of the new PID namespace: mount its /proc, switch to the new root for good."""
    mount("proc", _inside(root, "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    pivot_root(".", OLD_ROOT)
    os.chdir("/")
    umount_detach(f"/{OLD_ROOT}")
    os.rmdir(f"/{OLD_ROOT}")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    with contextlib.suppress(OSError):
        socket.sethostname(hostname)


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("privileges were not dropped")
