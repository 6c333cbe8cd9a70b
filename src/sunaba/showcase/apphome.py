"""One app's Unix account, home, deployed snapshots and limits.

The home (`<sandbox.home_root>/<account>`, 0700, owned by the app's account) holds:
- `v<N>/`: the deployed snapshot of version N, owned by root and read-only for the app;
- `run-<tag>/`: the private writable directory of one running process, removed when it stops.
Nothing else of the host is visible to the app's processes (see `sandboxing.command`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
from pathlib import Path

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.sandbox.accounts import ensure_home_root, ensure_sandbox_user, remove_sandbox_user
from sunaba.sandbox.limits import CgroupGroup, Limits, cgroup_version
from sunaba.showcase.paths import ShowcasePaths, app_account, app_id_of
from sunaba.showcase.sandboxing import Identity

# Beside the learners' groups: `sunaba up`'s cleanup knows them by the account prefix.
CGROUP_PARENT = "sunaba"


class AppAccountError(RuntimeError):
    """An app's Unix account could not be made or removed."""


def passwd_entry(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def is_app_account(entry: pwd.struct_passwd, home_root: Path) -> bool:
    """An app's account has its home in the home root. A course's grader account can have the
    same name (`<prefix>_<course id>`, and a course may be called `app3`) but lives elsewhere:
    the showcase never runs as it, nor removes it."""
    return Path(entry.pw_dir) == home_root / entry.pw_name


def app_ids_with_a_home(config: SiteConfig, mode: str) -> set[int]:
    """Apps that have an account or a home on this machine, whether live or not."""
    home_root = Path(config.sandbox.home_root)
    names: set[str] = set()
    if mode == "full":
        names |= {e.pw_name for e in pwd.getpwall() if is_app_account(e, home_root)}
    if home_root.is_dir():
        names |= {child.name for child in home_root.iterdir()}
    return {app_id for app_id in (app_id_of(config, name) for name in names) if app_id is not None}


class AppHome:
    def __init__(self, config: SiteConfig, app_id: int, mode: str):
        self.config = config
        self.app_id = app_id
        self.mode = mode
        self.paths = ShowcasePaths.from_config(config)
        self.account = app_account(config, app_id)
        self.home = self.paths.app_home(self.account)

    @property
    def limits(self) -> Limits:
        showcase = self.config.showcase
        return Limits(
            memory_bytes=parse_size(showcase.memory_limit),
            cpu_cores=showcase.cpu_limit,
            max_processes=showcase.max_processes,
            max_file_bytes=parse_size(self.config.sandbox.max_file_size),
        )

    def cgroup(self) -> CgroupGroup | None:
        version = cgroup_version() if self.mode == "full" else None
        if version is None:
            return None
        return CgroupGroup(CGROUP_PARENT, self.account, version)

    def ensure(self) -> Identity:
        """Create the account and home if missing; return whom the app's processes run as."""
        if self.mode == "full":
            existing = passwd_entry(self.account)
            if existing is not None and not is_app_account(existing, self.paths.home_root):
                raise AppAccountError(
                    f"the Unix account {self.account} belongs to something else "
                    f"(home {existing.pw_dir}); set showcase.app_user_prefix"
                )
            entry = ensure_sandbox_user(self.account, self.paths.home_root)
            return Identity(entry.pw_uid, entry.pw_gid, self.account)
        ensure_home_root(self.paths.home_root)
        self.home.mkdir(mode=0o700, exist_ok=True)
        return Identity(name=self.account)

    def identity(self) -> Identity:
        if self.mode != "full":
            return Identity(name=self.account)
        entry = pwd.getpwnam(self.account)
        return Identity(entry.pw_uid, entry.pw_gid, self.account)

    # -- snapshots ------------------------------------------------------------------------

    def deployed(self, number: int) -> Path:
        return self.paths.deployed_dir(self.account, number)

    def deploy(self, source: Path, number: int) -> Path:
        """Copy a stored version into the home, read-only for the app; replace any old copy."""
        target = self.deployed(number)
        tmp = self.home / f".v{number}-{secrets.token_hex(4)}"
        shutil.copytree(source, tmp, symlinks=False)
        as_root = os.geteuid() == 0
        for directory, _dirnames, filenames in os.walk(tmp):
            paths = [directory, *(os.path.join(directory, name) for name in filenames)]
            for path in paths:
                if as_root:
                    os.chown(path, 0, 0)
                os.chmod(path, 0o755 if path == directory else 0o644)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        return target

    def prune(self, keep: set[int]) -> None:
        """Remove deployed versions other than `keep` (the store still has them)."""
        if not self.home.is_dir():
            return
        for child in self.home.iterdir():
            name = child.name
            stale_version = name[:1] == "v" and name[1:].isdigit() and int(name[1:]) not in keep
            half_copied = name.startswith(".v")
            if stale_version or half_copied:
                shutil.rmtree(child, ignore_errors=True)

    # -- run directories --------------------------------------------------------------------

    def new_run_dir(self, identity: Identity) -> Path:
        path = self.paths.run_dir(self.account, secrets.token_hex(4))
        path.mkdir(mode=0o700)
        if identity.uid is not None:
            os.chown(path, identity.uid, identity.gid)
        return path

    def remove_run_dirs(self, keep: set[Path] = frozenset()) -> None:
        if not self.home.is_dir():
            return
        for child in self.home.glob("run-*"):
            if child not in keep:
                shutil.rmtree(child, ignore_errors=True)

    def purge(self) -> None:
        """Everything of the app outside the private store: its processes, cgroup, Unix account
        and home. Done whenever an app stops being live (unpublished, a first publish that
        failed, `sunaba showcase purge`); publishing or restoring creates them again."""
        group = self.cgroup()
        if group is not None:
            group.kill_all()
            group.remove()
        entry = passwd_entry(self.account) if self.mode == "full" else None
        if entry is not None and is_app_account(entry, self.paths.home_root):
            remove_sandbox_user(self.account, remove_home=False)
            if passwd_entry(self.account) is not None:
                raise AppAccountError(f"userdel left the account {self.account}")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.home)
