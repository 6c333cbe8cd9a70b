"""`sunaba backup` and `sunaba restore`: databases plus every directory that holds people's work.

An archive is one tar.gz with a manifest, one dump per PostgreSQL database (`pg_dump -Fc`) and a
copy of each directory in `backup_paths(config)`. SQLite files met inside those directories (the
hub and records databases on one machine, nbgrader gradebooks) are copied with SQLite's backup
API, so a backup taken while the hub runs is still consistent. Owners are kept by name: restore
(`sunaba.deploy.restore`) recreates the Unix accounts that are missing before it puts files back.

To back up another directory, add one line to BACKUP_PATHS (or, from an area, a
`backup_paths(config) -> dict[str, str]` hook in its `<area>.hub` module).
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url

from sunaba.config.schema import SiteConfig
from sunaba.core.layout import grading_root
from sunaba.core.state import StatePaths
from sunaba.hub.areas import area_hooks
from sunaba.progress import Progress
from sunaba.records.db import default_records_url

FORMAT_VERSION = 1
ARCHIVE_PREFIX = "sunaba-backup-"


# name -> where it is on this server. Every directory of people's work belongs here.
BACKUP_PATHS: dict[str, Callable[[SiteConfig], Path | None]] = {
    "state": lambda c: Path(c.hub.state_dir),  # exchange, showcase store, secrets, SQLite DBs
    "homes": lambda c: Path(c.sandbox.home_root),  # learners' files
    "courses": grading_root,  # nbgrader course dirs and gradebooks
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


def run_tool(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} が失敗しました: {result.stderr.strip()[-500:]}")


def _skipped(name: str) -> bool:
    return name in SKIP_NAMES or name.endswith((".sqlite-journal", "-wal", "-shm"))


def top_entries(root: Path) -> list[Path]:
    """The entries at the top of a backed-up directory (a learner's home, the exchange...): each
    is one step of the progress shown."""
    return sorted(path for path in root.iterdir() if not _skipped(path.name))


def _add_group(archive: tarfile.TarFile, arc_root: str, root: Path, top: Path, scratch) -> int:
    """`top` (a file, or a folder and everything beneath it) under `arc_root`; files added."""
    if top.is_symlink() or not top.is_dir():
        return _add_file(archive, top, f"{arc_root}/{top.name}", scratch)
    count = 0
    for current, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_NAMES)
        here = Path(current)
        arc_dir = f"{arc_root}/{here.relative_to(root).as_posix()}"
        archive.add(here, arcname=arc_dir, recursive=False)
        for file_name in sorted(files):
            count += _add_file(archive, here / file_name, f"{arc_dir}/{file_name}", scratch)
    return count


def _add_file(archive: tarfile.TarFile, path: Path, arcname: str, scratch: Path) -> int:
    if _skipped(path.name):
        return 0
    if path.is_file() and not path.is_symlink() and _is_sqlite(path):
        _add_sqlite(archive, path, arcname, scratch)
    else:
        _add_entry(archive, path, arcname)
    return 1


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


def backup(
    config: SiteConfig,
    directory: Path,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write the archive; `progress` is told of each database and each top entry of each
    directory (see `top_entries`) as it is added."""
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
    urls = databases(config)
    trees = {n: (p, top_entries(p)) for n, p in backup_paths(config).items() if p.is_dir()}
    progress = progress or Progress(0, "", io.StringIO())
    progress.total = len(urls) + sum(len(tops) for _path, tops in trees.values())
    with tempfile.TemporaryDirectory(prefix="sunaba-backup-") as tmp:
        scratch = Path(tmp)
        partial = target.with_name(target.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            for name, url in urls.items():
                dump = scratch / f"{name}.dump"
                dsn, env = libpq(url)
                run_tool(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", dsn], env)
                archive.add(dump, arcname=f"databases/{name}.dump")
                manifest["databases"][name] = {"kind": "postgresql"}
                progress.done(f"データベース {name}")
            for name, (path, tops) in trees.items():
                archive.add(path, arcname=f"paths/{name}", recursive=False)
                files = 0
                for top in tops:
                    files += _add_group(archive, f"paths/{name}", path, top, scratch)
                    progress.done(f"{name}/{top.name}")
                manifest["paths"][name] = {"path": str(path), "files": files}
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(now.timestamp())
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, target)
    return target


def prune_backups(directory: Path, keep: int) -> list[Path]:
    archives = sorted(directory.glob(f"{ARCHIVE_PREFIX}*.tar.gz"))
    old = archives[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old
