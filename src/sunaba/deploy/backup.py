"""`sunaba backup` and `sunaba restore`: databases plus every directory that holds people's work.

An archive is one tar.gz with a manifest, one dump per PostgreSQL database (`pg_dump -Fc`) and a
copy of each directory in `backup_paths(config)`. SQLite files met inside those directories (the
hub and records databases on one machine, nbgrader gradebooks) are copied with SQLite's backup
API, so a backup taken while the hub runs is still consistent. Owners are kept by name: restore
recreates learners' and graders' Unix accounts that are missing before it puts their files back.

To back up another directory, add one line to BACKUP_PATHS (or, from an area, a
`backup_paths(config) -> dict[str, str]` hook in its `<area>.hub` module).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url

from sunaba.config.schema import SiteConfig
from sunaba.hub.apply import area_hooks
from sunaba.records.db import default_records_url
from sunaba.runtime.state import StatePaths

FORMAT_VERSION = 1
ARCHIVE_PREFIX = "sunaba-backup-"


def _grading_root(config: SiteConfig) -> Path | None:
    try:
        from sunaba.courses.layout import grading_root
    except ModuleNotFoundError:
        return None
    return grading_root(config)


# name -> where it is on this server. Every directory of people's work belongs here.
BACKUP_PATHS: dict[str, Callable[[SiteConfig], Path | None]] = {
    "state": lambda c: Path(c.hub.state_dir),  # exchange, showcase store, secrets, SQLite DBs
    "homes": lambda c: Path(c.sandbox.home_root),  # learners' files
    "courses": _grading_root,  # nbgrader course dirs and gradebooks
}
# Never worth restoring: logs and pid files of a hub that no longer runs.
SKIP_NAMES = {"logs", "jupyterhub.pid", "jupyterhub-proxy.pid"}
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why."""


def backup_paths(config: SiteConfig) -> dict[str, Path]:
    paths = {name: where(config) for name, where in BACKUP_PATHS.items()}
    for hook in area_hooks("backup_paths"):
        paths.update({name: Path(path) for name, path in hook(config).items()})
    return {name: path for name, path in sorted(paths.items()) if path is not None}


def databases(config: SiteConfig) -> dict[str, str]:
    """PostgreSQL databases to dump, by name; SQLite ones travel with the directories."""
    urls = {"hub": StatePaths.from_config(config).hub_db_url(config)}
    urls["records"] = default_records_url(config)
    found: dict[str, str] = {}
    seen = set()
    for name, url in urls.items():
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            continue
        key = (parsed.host, parsed.port, parsed.database)
        if key not in seen:
            seen.add(key)
            found[name] = url
    return found


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a SQLAlchemy URL, and the environment carrying its password
    (never on a command line, where `ps` would show it)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed._replace(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-500:]}")


def _add_tree(archive: tarfile.TarFile, name: str, root: Path, scratch: Path) -> int:
    count = 0
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_NAMES)
        here = Path(current)
        arc_dir = f"paths/{name}/{here.relative_to(root)}".rstrip("/.")
        archive.add(here, arcname=arc_dir, recursive=False)
        for file_name in sorted(files):
            if file_name in SKIP_NAMES or file_name.endswith((".sqlite-journal", "-wal", "-shm")):
                continue
            path = here / file_name
            arcname = f"{arc_dir}/{file_name}"
            if path.is_file() and not path.is_symlink() and _is_sqlite(path):
                _add_sqlite(archive, path, arcname, scratch)
            else:
                _add_entry(archive, path, arcname)
            count += 1
    return count


def _add_entry(archive: tarfile.TarFile, path: Path, arcname: str) -> None:
    """A file, folder or symlink as itself. A second hard link to a file is stored as a full copy:
    hard-link records would tie restore to paths a learner chose."""
    info = archive.gettarinfo(path, arcname=arcname)
    if info is None:
        return  # a socket (the hub's own, or a learner's): nothing to keep
    if info.islnk():
        info.type = tarfile.REGTYPE
        info.linkname = ""
        info.size = path.stat().st_size
    if info.isreg():
        with open(path, "rb") as handle:
            archive.addfile(info, handle)
    elif info.isdir() or info.issym():
        archive.addfile(info)
    # Sockets, FIFOs and devices carry no work worth keeping.


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _add_sqlite(archive: tarfile.TarFile, path: Path, arcname: str, scratch: Path) -> None:
    copy = scratch / "copy.sqlite"
    copy.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    info = archive.gettarinfo(path, arcname=arcname)
    info.size = copy.stat().st_size
    with open(copy, "rb") as handle:
        archive.addfile(info, handle)


def backup(config: SiteConfig, directory: Path, now: datetime | None = None) -> Path:
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    target = directory / f"{ARCHIVE_PREFIX}{now:%Y%m%dT%H%M%S}Z.tar.gz"
    manifest = {
        "format": FORMAT_VERSION,
        "created": now.isoformat(),
        "databases": {},
        "paths": {},
    }
    with tempfile.TemporaryDirectory(prefix="sunaba-backup-") as tmp:
        scratch = Path(tmp)
        partial = target.with_name(target.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            for name, url in databases(config).items():
                dump = scratch / f"{name}.dump"
                dsn, env = libpq(url)
                _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", dsn], env)
                archive.add(dump, arcname=f"databases/{name}.dump")
                manifest["databases"][name] = {"kind": "postgresql"}
            for name, path in backup_paths(config).items():
                if not path.exists():
                    continue
                files = _add_tree(archive, name, path, scratch)
                manifest["paths"][name] = {"path": str(path), "files": files}
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(now.timestamp())
            info.mode = 0o600
            import io

            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, target)
    return target


def prune_backups(directory: Path, keep: int) -> list[Path]:
    archives = sorted(directory.glob(f"{ARCHIVE_PREFIX}*.tar.gz"))
    old = archives[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


# -- restore ---------------------------------------------------------------------------------


def _checked(member: tarfile.TarInfo, symlinks: set[str] | None = None) -> tarfile.TarInfo:
    """Refuse what an archive could use to write outside its target: absolute paths, `..`,
    hard links, devices, and anything beneath a symlink of the same archive; drop setuid and
    setgid bits. (tarfile's extraction filters are newer than the Python of Debian 12.)"""
    parts = Path(member.name).parts
    if member.name.startswith("/") or ".." in parts:
        raise BackupError(f"archive member {member.name!r} points outside its folder")
    if not (member.isfile() or member.isdir() or member.issym()):
        raise BackupError(f"archive member {member.name!r} is not a file, folder or symlink")
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in (symlinks or set()):
            raise BackupError(f"archive member {member.name!r} lies beneath a symlink")
    member.mode &= 0o1777
    return member


def _no_symlink_on_the_way(target: Path, name: str) -> None:
    """Restoring over existing files: a symlink left in a folder must not redirect a write."""
    here = target
    for part in Path(name).parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise BackupError(f"{here} is a symlink: move it away, then restore again")


def _hub_running(config: SiteConfig) -> bool:
    pid_file = StatePaths.from_config(config).pid_file
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _ensure_database(url: str) -> None:
    """Create the database if it is missing (a wiped or new server)."""
    parsed = make_url(url)
    dsn, env = libpq(str(parsed._replace(database="postgres")))
    name = parsed.database or ""
    if not re.match(r"^[A-Za-z0-9_]+$", name):
        raise BackupError(f"database name {name!r}: use letters, digits and _ only")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 (checked above)
    check = subprocess.run(
        ["psql", "-tAc", query, dsn],
        env=env,
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise BackupError(f"cannot reach PostgreSQL for {name}: {check.stderr.strip()}")
    if check.stdout.strip() != "1":
        _run(["createdb", f"--maintenance-db={dsn}", name], env)


def _accounts_to_create(archive: tarfile.TarFile, prefix: str) -> dict[str, str]:
    """Accounts owning restored files that this server lacks: name -> home-to-be (the top-most
    directory the account owns, such as a learner's home)."""
    missing: dict[str, str] = {}
    for member in archive.getmembers():
        name = member.uname
        if not name.startswith(prefix) or name in missing:
            continue
        try:
            pwd.getpwnam(name)
        except KeyError:
            if member.isdir():
                missing[name] = member.name
    return missing


def _create_account(name: str, home: Path) -> None:
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
         "--user-group", "--comment", "Sunaba account (restored)", name],
        check=True,
        capture_output=True,
    )  # fmt: skip


def restore(config: SiteConfig, archive_path: Path) -> list[str]:
    if _hub_running(config):
        raise BackupError("the hub is running: stop it first (systemctl stop sunaba-hub)")
    if not archive_path.is_file():
        raise BackupError(f"{archive_path}: no such archive")
    done = []
    targets = backup_paths(config)
    with (
        tempfile.TemporaryDirectory(prefix="sunaba-restore-") as tmp,
        tarfile.open(archive_path, "r:gz") as archive,
    ):
        try:
            manifest = json.load(archive.extractfile("manifest.json"))
        except KeyError as exc:
            raise BackupError(f"{archive_path}: not a Sunaba backup (no manifest)") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise BackupError(f"{archive_path}: backup format {manifest.get('format')} unknown")
        urls = databases(config)
        for name in manifest["databases"]:
            if name not in urls:
                raise BackupError(
                    f"the backup holds the {name} database on PostgreSQL, but this config has "
                    f"no PostgreSQL URL for it"
                )
        unknown = set(manifest["paths"]) - set(targets)
        if unknown:
            raise BackupError(f"this config has no place for: {', '.join(sorted(unknown))}")

        for name in manifest["databases"]:
            archive.extract(_checked(archive.getmember(f"databases/{name}.dump")), tmp)
            _ensure_database(urls[name])
            dsn, env = libpq(urls[name])
            _run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 f"--dbname={dsn}", f"{tmp}/databases/{name}.dump"],
                env,
            )  # fmt: skip
            done.append(f"database {name}")

        for account, member in _accounts_to_create(archive, config.sandbox.user_prefix).items():
            path_name, rest = member.removeprefix("paths/").split("/", 1)
            _create_account(account, targets[path_name] / rest)
            done.append(f"account {account}")

        for name in manifest["paths"]:
            target = targets[name]
            prefix = f"paths/{name}/"
            members = []
            for member in archive.getmembers():
                if member.name == f"paths/{name}" or member.name.startswith(prefix):
                    member.name = (
                        member.name[len(prefix) :] if member.name != f"paths/{name}" else "."
                    )
                    members.append(member)
            target.mkdir(parents=True, exist_ok=True)
            # Owners are kept by name (accounts were created above), modes as they were.
            links = {m.name for m in members if m.issym()}
            checked = [_checked(m, links) for m in members]
            for member in checked:
                _no_symlink_on_the_way(target, member.name)
            archive.extractall(target, members=checked, numeric_owner=False)  # noqa: S202 (checked)
            done.append(f"{name} -> {target}")
    StatePaths.from_config(config).root.chmod(0o700)
    return done
