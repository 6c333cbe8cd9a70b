"""The private version store: every published snapshot, kept in the 0700 state dir.

A snapshot arrives as a tar stream from the sandboxed reader. It is unpacked member by member
(regular files only, no absolute names, no `..`, within the size cap) into a staging folder, and
moved into `apps/<id>/v<N>/` only once its notebook has run headless without error.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sunaba.showcase.paths import ShowcasePaths

MANIFEST = ".sunaba/manifest.json"


class SnapshotRejected(Exception):
    """The reader's tar stream broke a rule; `code` names which."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class Snapshot:
    folder: Path
    notebook: str
    files: list[str]
    skipped: list[dict] = field(default_factory=list)
    size_bytes: int = 0
    sha256: str = ""


def ensure_store(paths: ShowcasePaths) -> None:
    for directory in (paths.root, paths.staging, paths.logs, paths.root / "apps"):
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)


def new_staging(paths: ShowcasePaths) -> Path:
    folder = paths.staging / secrets.token_hex(8)
    folder.mkdir(mode=0o700, parents=True)
    return folder


def safe_member_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in name
        or "\x00" in name
        or len(name) > 255
    ):
        raise SnapshotRejected("bad_member", name)
    return path


def unpack(stream: bytes, folder: Path, max_bytes: int) -> Snapshot:
    manifest: dict | None = None
    total = 0
    names: list[str] = []
    digest = hashlib.sha256()
    with tarfile.open(fileobj=io.BytesIO(stream), mode="r:") as tar:
        for member in tar:
            name = safe_member_name(member.name)
            if not member.isreg():
                raise SnapshotRejected("bad_member", member.name)
            data = tar.extractfile(member).read()
            if member.name == MANIFEST:
                manifest = json.loads(data)
                continue
            total += len(data)
            if total > max_bytes:
                raise SnapshotRejected("too_large", str(total))
            target = folder.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            digest.update(member.name.encode() + b"\0" + hashlib.sha256(data).digest())
            names.append(member.name)
    if manifest is None or manifest.get("notebook") not in names:
        raise SnapshotRejected("no_manifest")
    return Snapshot(
        folder=folder,
        notebook=manifest["notebook"],
        files=names,
        skipped=list(manifest.get("skipped", [])),
        size_bytes=total,
        sha256=digest.hexdigest(),
    )


def commit(paths: ShowcasePaths, snapshot: Snapshot, app_id: int, number: int) -> Path:
    target = paths.version_dir(app_id, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    paths.app_store(app_id).chmod(0o700)
    if target.exists():
        shutil.rmtree(target)
    os.replace(snapshot.folder, target)
    snapshot.folder = target
    return target


def left_out_file(paths: ShowcasePaths, app_id: int, number: int) -> Path:
    return paths.app_store(app_id) / "left-out" / f"v{number}.json"


def write_left_out(paths: ShowcasePaths, app_id: int, number: int, skipped: list[dict]) -> None:
    """Keep, next to the version, which files its snapshot left out and why."""
    target = left_out_file(paths, app_id, number)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(skipped, ensure_ascii=False), encoding="utf-8")


def read_left_out(paths: ShowcasePaths, app_id: int, number: int) -> list[dict]:
    try:
        data = json.loads(left_out_file(paths, app_id, number).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def discard(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(folder)


def purge_app(paths: ShowcasePaths, app_id: int) -> None:
    discard(paths.app_store(app_id))


def notebook_in(folder: Path, preferred: str) -> str:
    """The notebook a stored version serves: `preferred` if it has it, else its first one."""
    if (folder / preferred).is_file():
        return preferred
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    return found[0] if found else preferred
