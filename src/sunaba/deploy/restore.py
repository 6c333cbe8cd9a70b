"""`sunaba restore`: puts a `sunaba backup` archive back (see `sunaba.deploy.backup`).

Nothing is written before the archive is checked as a whole: every member must stay inside its
folder, with no device, hard link or entry beneath a symlink. Databases come first, then the
Unix accounts owning restored files, then each directory, top entry by top entry.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy import make_url

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.deploy.backup import (
    FORMAT_VERSION,
    BackupError,
    backup_paths,
    databases,
    libpq,
    run_tool,
)
from sunaba.progress import Progress


def _checked(member: tarfile.TarInfo, symlinks: set[str] | None = None) -> tarfile.TarInfo:
    """Refuse what an archive could use to write outside its target: absolute paths, `..`,
    hard links, devices, and anything beneath a symlink of the same archive; drop setuid and
    setgid bits. (tarfile's extraction filters are newer than the Python of Debian 12.)"""
    parts = Path(member.name).parts
    if member.name.startswith("/") or ".." in parts:
        raise BackupError(f"アーカイブの {member.name!r} は復元先のフォルダーの外を指しています")
    if not (member.isfile() or member.isdir() or member.issym()):
        raise BackupError(
            f"アーカイブの {member.name!r} はファイル・フォルダー・シンボリックリンクのどれでもありません"
        )
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in (symlinks or set()):
            raise BackupError(f"アーカイブの {member.name!r} はシンボリックリンクの下にあります")
    member.mode &= 0o1777
    return member


def _no_symlink_on_the_way(target: Path, name: str) -> None:
    """Restoring over existing files: a symlink left in a folder must not redirect a write."""
    here = target
    for part in Path(name).parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise BackupError(
                f"{here} はシンボリックリンクです。別の場所に移してから、もう一度復元してください"
            )


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
        raise BackupError(f"データベース名 {name!r} には英数字と _ だけを使ってください")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 (checked above)
    check = subprocess.run(
        ["psql", "-tAc", query, dsn],
        env=env,
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise BackupError(f"{name} の PostgreSQL に接続できません: {check.stderr.strip()}")
    if check.stdout.strip() != "1":
        run_tool(["createdb", f"--maintenance-db={dsn}", name], env)


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


def restore(config: SiteConfig, archive_path: Path, progress: Progress | None = None) -> list[str]:
    """Put an archive back; what was done, in Japanese lines. `progress` is told of each
    database and each top entry of each directory as it is restored."""
    if _hub_running(config):
        raise BackupError("ハブが動いています。先に止めてください（systemctl stop sunaba-hub）")
    if not archive_path.is_file():
        raise BackupError(f"{archive_path}: ファイルがありません")
    done = []
    targets = backup_paths(config)
    progress = progress or Progress(0, "", io.StringIO())
    with (
        tempfile.TemporaryDirectory(prefix="sunaba-restore-") as tmp,
        tarfile.open(archive_path, "r:gz") as archive,
    ):
        manifest = _manifest(archive, archive_path)
        urls = databases(config)
        for name in manifest["databases"]:
            if name not in urls:
                raise BackupError(
                    f"バックアップには PostgreSQL の {name} データベースがありますが、"
                    "この設定には復元先の PostgreSQL の URL がありません"
                )
        unknown = set(manifest["paths"]) - set(targets)
        if unknown:
            raise BackupError(f"この設定には復元先がありません: {', '.join(sorted(unknown))}")
        accounts = _accounts_to_create(archive, config.sandbox.user_prefix)
        groups = {name: _groups(archive, name) for name in manifest["paths"]}  # renames members
        tops = sum(len(g) - ("." in g) for g in groups.values())
        progress.total = len(manifest["databases"]) + tops

        for name in manifest["databases"]:
            archive.extract(_checked(archive.getmember(f"databases/{name}.dump")), tmp)
            _ensure_database(urls[name])
            dsn, env = libpq(urls[name])
            run_tool(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 f"--dbname={dsn}", f"{tmp}/databases/{name}.dump"],
                env,
            )  # fmt: skip
            done.append(f"データベース {name} を復元しました")
            progress.done(f"データベース {name}")

        for account, member in accounts.items():
            path_name, rest = member.removeprefix("paths/").split("/", 1)
            _create_account(account, targets[path_name] / rest)
            done.append(f"アカウント {account} を作り直しました")

        for name, by_top in groups.items():
            _restore_tree(archive, name, targets[name], by_top, progress)
            done.append(f"{name} を {targets[name]} に復元しました")
    StatePaths.from_config(config).root.chmod(0o700)
    return done


def _manifest(archive: tarfile.TarFile, archive_path: Path) -> dict:
    try:
        manifest = json.load(archive.extractfile("manifest.json"))
    except KeyError as exc:
        raise BackupError(
            f"{archive_path}: Sunaba のバックアップではありません（manifest.json がありません）"
        ) from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"{archive_path}: バックアップの形式 {manifest.get('format')} には対応していません"
        )
    return manifest


def _groups(archive: tarfile.TarFile, name: str) -> dict[str, list[tarfile.TarInfo]]:
    """The members of one directory, by top entry (as `backup` added them, in archive order),
    renamed relative to the directory; the directory itself is the group named "."."""
    prefix = f"paths/{name}/"
    groups: dict[str, list[tarfile.TarInfo]] = {}
    for member in archive.getmembers():
        if member.name == f"paths/{name}":
            member.name = "."
        elif member.name.startswith(prefix):
            member.name = member.name[len(prefix) :]
        else:
            continue
        groups.setdefault(member.name.split("/", 1)[0], []).append(member)
    return groups


def _restore_tree(archive, name: str, target: Path, groups: dict, progress: Progress) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # Owners are kept by name (accounts were created before), modes as they were.
    links = {m.name for members in groups.values() for m in members if m.issym()}
    checked = {top: [_checked(m, links) for m in members] for top, members in groups.items()}
    for members in checked.values():
        for member in members:
            _no_symlink_on_the_way(target, member.name)
    for top, members in checked.items():
        archive.extractall(target, members=members, numeric_owner=False)  # noqa: S202 (checked)
        if top != ".":
            progress.done(f"{name}/{top}")
