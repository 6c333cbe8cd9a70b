"""Unix accounts for learners: one per hub user, named with a fixed prefix, home 0700."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from sunaba.sandbox.firewall import register_uid

# Hub names are already restricted by the authenticator; this is the last line of defence
# before a name reaches useradd.
_UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
NOLOGIN = "/usr/sbin/nologin"


class AccountError(RuntimeError):
    pass


def unix_name(prefix: str, hub_name: str) -> str:
    """The Unix account for a hub user; refuses names useradd would misread."""
    name = f"{prefix}{hub_name}".lower()
    if not _UNIX_NAME.match(name):
        raise AccountError(f"hub user {hub_name!r} cannot be mapped to a Unix account ({name!r})")
    return name


def ensure_home_root(home_root: Path) -> None:
    # 0711: learners can reach their own home but cannot list who else has one.
    home_root.mkdir(parents=True, exist_ok=True)
    home_root.chmod(0o711)


def ensure_sandbox_user(name: str, home_root: Path) -> pwd.struct_passwd:
    """Create the account and its 0700 home if missing; return its passwd entry."""
    home = home_root / name
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        ensure_home_root(home_root)
        subprocess.run(
            [
                "useradd",
                "--no-create-home",
                "--home-dir",
                str(home),
                "--shell",
                NOLOGIN,
                "--user-group",
                "--comment",
                "Sunaba learner",
                name,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(name)
    if not home.exists():
        ensure_home_root(home_root)
        home.mkdir(mode=0o700)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    # The uid joins the network policy of the running install (no-op where none is installed).
    register_uid(entry.pw_uid, home_root)
    return entry


def remove_sandbox_user(name: str, *, remove_home: bool = True) -> None:
    """Delete the account (and its home); used by tests and by `sunaba users remove`."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["pkill", "-KILL", "-u", name], check=False, capture_output=True)
    subprocess.run(["userdel", name], check=False, capture_output=True)
    if remove_home and entry.pw_dir and Path(entry.pw_dir).is_dir():
        shutil.rmtree(entry.pw_dir, ignore_errors=True)
