"""The grader account of a course and its private course directory."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import time
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.layout import CoursePaths, grader_account, grading_root
from sunaba.sandbox.accounts import NOLOGIN, AccountError
from sunaba.sandbox.firewall import register_uid


def ensure_grading_root(config: SiteConfig) -> Path:
    """Root-owned, 0711: each grader reaches its own directory, nobody can list the others."""
    root = grading_root(config)
    root.mkdir(parents=True, exist_ok=True)
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise AccountError(f"{root} must be a directory")
    if info.st_uid != 0 and os.geteuid() == 0:
        os.chown(root, 0, 0)
    root.chmod(0o711)
    return root


def _useradd(args: list[str], attempts: int = 10) -> None:
    """useradd, again while another process holds the lock on /etc/passwd (learners' accounts
    are created by spawns at any time)."""
    for attempt in range(attempts):
        result = subprocess.run(["useradd", *args], capture_output=True, text=True)
        if result.returncode == 0:
            return
        if "lock" not in result.stderr or attempt == attempts - 1:
            raise AccountError(f"useradd {args[-1]} failed: {result.stderr.strip()}")
        time.sleep(0.5)


def ensure_grader(config: SiteConfig, course_id: str) -> tuple[pwd.struct_passwd, bool]:
    """Create the course's grader account and its 0700 directory; (entry, created?)."""
    ensure_grading_root(config)
    name = grader_account(config, course_id)
    home = CoursePaths.of(config, course_id).root
    created = False
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _useradd(
            ["--no-create-home", "--home-dir", str(home), "--shell", NOLOGIN,
             "--user-group", "--comment", f"Sunaba grader {course_id}", name]
        )  # fmt: skip
        entry = pwd.getpwnam(name)
        created = True
    if not home.exists():
        home.mkdir(mode=0o700)
        created = True
    info = home.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise AccountError(f"{home} must be a directory")
    if (info.st_uid, info.st_gid) != (entry.pw_uid, entry.pw_gid):
        os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    # The formgrader runs as this account: it joins the running install's network policy.
    register_uid(entry.pw_uid, config.sandbox.home_root)
    return entry, created


def grader_exists(config: SiteConfig, course_id: str) -> bool:
    try:
        pwd.getpwnam(grader_account(config, course_id))
    except KeyError:
        return False
    return CoursePaths.of(config, course_id).root.is_dir()
