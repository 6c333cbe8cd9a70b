"""Moving a folder of assignment files over HTTP as one tar stream, and reading one safely.

The reading side never trusts the archive: only plain files and folders, relative names without
`..`, a bounded number of files and bytes (checked from the headers before any content is read),
and notebooks must be valid nbformat JSON. Checks happen in memory; the caller writes the result
only when everything passed, so a refused upload leaves nothing behind.

This module is also used inside learners' servers: it imports nothing from Sunaba.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path

# Folders and files that never travel: editor state, caches, hidden files, and (at the top of an
# assignment folder) the learner's own copies of fetched feedback.
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_TOP = {"feedback"}
MAX_FILES = 500


class ArchiveRefused(ValueError):
    """The archive breaks a rule; the message is for the person who sent it (Japanese)."""


@dataclass(frozen=True)
class Archive:
    files: dict[str, bytes]  # relative POSIX path -> content

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())

    @property
    def notebooks(self) -> list[str]:
        return sorted(name for name in self.files if name.endswith(".ipynb"))


def _skipped(relative: str) -> bool:
    parts = relative.split("/")
    if len(parts) > 1 and parts[0] in SKIPPED_TOP:
        return True
    return any(part in SKIPPED_PARTS or part.startswith(".") for part in parts)


def collect_files(folder: Path, *, max_bytes: int) -> dict[str, bytes]:
    """Regular files under `folder` (symlinks are not followed), within `max_bytes`."""
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            relative = path.relative_to(folder).as_posix()
            if _skipped(relative) or path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            if total > max_bytes:
                raise ArchiveRefused(
                    f"ファイルの合計が大きすぎます（上限 {max_bytes // 1024**2} MB）。"
                    "大きなデータファイルは提出フォルダから外してください"
                )
            files[relative] = path.read_bytes()
    return files


def pack(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar of the files, with neutral owners and modes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=5) as tar:
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def pack_folder(folder: Path, *, max_bytes: int) -> bytes:
    return pack(collect_files(folder, max_bytes=max_bytes))


def _safe_name(name: str) -> str:
    if name.startswith("/") or "\\" in name or "\x00" in name:
        raise ArchiveRefused(f"使えないファイル名です: {name!r}")
    normal = posixpath.normpath(name)
    if normal.startswith("..") or normal in ("", "."):
        raise ArchiveRefused(f"使えないファイル名です: {name!r}")
    if any(part == ".." for part in normal.split("/")):
        raise ArchiveRefused(f"使えないファイル名です: {name!r}")
    return normal


def check_notebook(name: str, data: bytes) -> None:
    """Refuse anything that is not a readable nbformat 4 notebook."""
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArchiveRefused(
            f"{name} はノートブックとして読めません（JSON が壊れています）"
        ) from exc
    if not isinstance(content, dict) or content.get("nbformat") != 4:
        raise ArchiveRefused(f"{name} はノートブック（nbformat 4）ではありません")
    if not isinstance(content.get("cells"), list) or not isinstance(content.get("metadata"), dict):
        raise ArchiveRefused(f"{name} はノートブックの形になっていません")
    try:
        import nbformat

        nbformat.validate(nbformat.from_dict(content))
    except ImportError:  # pragma: no cover - nbformat is a dependency of nbgrader
        pass
    except Exception as exc:
        raise ArchiveRefused(f"{name} はノートブックの形式に合っていません") from exc


def unpack(
    blob: bytes,
    *,
    max_bytes: int,
    max_files: int = MAX_FILES,
    check_notebooks: bool = True,
) -> Archive:
    """Read and check an archive made by `pack`; raise ArchiveRefused on any problem."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isreg():
                    raise ArchiveRefused(
                        f"ふつうのファイル以外（リンクなど）は送れません: {member.name!r}"
                    )
                name = _safe_name(member.name)
                if _skipped(name):
                    continue
                total += member.size
                if total > max_bytes:
                    raise ArchiveRefused(
                        f"大きすぎます（上限 {max_bytes // 1024**2} MB）。何も保存していません"
                    )
                if len(files) >= max_files:
                    raise ArchiveRefused(f"ファイルが多すぎます（上限 {max_files} 個）")
                handle = tar.extractfile(member)
                data = handle.read() if handle else b""
                if name in files:
                    raise ArchiveRefused(f"同じ名前のファイルが 2 つあります: {name}")
                files[name] = data
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ArchiveRefused):
            raise
        raise ArchiveRefused("送られたデータが壊れています（tar として読めません）") from exc
    if check_notebooks:
        for name, data in files.items():
            if name.endswith(".ipynb"):
                check_notebook(name, data)
    return Archive(files)


def write_files(files: dict[str, bytes], target: Path, *, mode: int = 0o644) -> None:
    """Write checked files below `target` (which must not exist yet or be empty)."""
    for name, data in files.items():
        path = target.joinpath(*_safe_name(name).split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def read_files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder written by `write_files`."""
    return collect_files(folder, max_bytes=2**40)
