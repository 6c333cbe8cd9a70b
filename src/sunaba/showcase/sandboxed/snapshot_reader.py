"""List an author's notebooks, or pack one notebook and the data files it names.

Run as the author, inside a sandbox where only their home (and the runtime) exists, with
`python -I -c SOURCE REQUEST_JSON`. So whatever the author's files point to (a symlink to another
home, `../../etc/shadow`), this script can read only what the author could read anyway, and it
refuses anything whose real path leaves the home or the notebook's folder.

`{"mode": "list", "home": H}` prints JSON: the notebooks under H.
`{"mode": "snapshot", "home": H, "notebook": REL, "max_bytes": N}` writes an uncompressed tar to
stdout: the notebook, then every file its code or Markdown names (relative to the notebook's
folder), then `.sunaba/manifest.json`. On refusal it prints JSON `{"error": CODE, "detail": …}`
to stderr and exits 3.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import stat
import sys
import tarfile
from pathlib import Path
from urllib.parse import unquote

MAX_LISTED = 500
MAX_DEPTH = 6
MAX_NAMED_FILES = 200
MANIFEST = ".sunaba/manifest.json"
# Markdown images (`![図](chart.png)`, `![図](<グラフ 1.png>)`) and HTML src/href attributes that
# point to files next to the notebook.
MARKDOWN_LINK = re.compile(
    r"""!\[[^\]]*\]\(\s*(?:<([^>\n]+)>|([^)\s]+))|(?:src|href)\s*=\s*["']([^"']+)["']"""
)
QUOTED = re.compile(r"""(?:'([^'\n]{1,255})'|"([^"\n]{1,255})")""")


class Refused(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code = code
        self.detail = detail


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def list_notebooks(home: Path) -> list[dict]:
    found: list[dict] = []
    for directory, dirnames, filenames in os.walk(home):
        depth = len(Path(directory).relative_to(home).parts)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and depth < MAX_DEPTH)
        for name in sorted(filenames):
            if not name.endswith(".ipynb") or name.startswith("."):
                continue
            path = Path(directory) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue
            found.append(
                {
                    "path": str(path.relative_to(home)),
                    "size": info.st_size,
                    "modified": int(info.st_mtime),
                }
            )
            if len(found) >= MAX_LISTED:
                return found
    return found


def resolve_notebook(home: Path, relative: str) -> Path:
    if not relative or relative.startswith("/") or "\x00" in relative:
        raise Refused("bad_path", relative)
    if ".." in Path(relative).parts:
        raise Refused("bad_path", relative)
    if not relative.endswith(".ipynb"):
        raise Refused("not_notebook", relative)
    path = home / relative
    real = Path(os.path.realpath(path))
    if not inside(real, home):
        raise Refused("outside_home", relative)
    try:
        info = real.lstat()
    except FileNotFoundError as exc:
        raise Refused("not_found", relative) from exc
    if not stat.S_ISREG(info.st_mode):
        raise Refused("not_found", relative)
    return real


def code_strings(source: str) -> list[str]:
    """String constants in a code cell; IPython magics and shell lines are left out."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return [a or b for a, b in QUOTED.findall(source)]
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def markdown_targets(source: str) -> list[str]:
    """Names Markdown links to, also decoded: Markdown writes `グラフ%201.png` for the file
    `グラフ 1.png` (both are kept: a file may really have a `%` in its name)."""
    found = []
    for groups in MARKDOWN_LINK.findall(source):
        name = next(g for g in groups if g).split("#", 1)[0].split("?", 1)[0]
        found += [name, unquote(name)]
    return found


def looks_like_local_path(text: str) -> bool:
    text = text.strip()
    return (
        0 < len(text) < 256
        and "\n" not in text
        and "://" not in text
        and not text.startswith(("/", "~", "data:", "#", "mailto:"))
        and "*" not in text
    )


def named_files(notebook: dict) -> list[str]:
    names: list[str] = []
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if cell.get("cell_type") == "code":
            names += code_strings(source)
        elif cell.get("cell_type") == "markdown":
            names += markdown_targets(source)
    return [name.strip() for name in dict.fromkeys(names) if looks_like_local_path(name)]


def files_under(folder: Path, root: Path) -> list[Path]:
    """Regular, non-hidden files of a named folder (a dataset folder the code opens)."""
    found = []
    for directory, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(directory) / name
            if not name.startswith(".") and stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
    return found


def collect(notebook_path: Path, home: Path) -> tuple[list[tuple[Path, str]], list[dict]]:
    """(files to pack with their names in the snapshot, files named but left out)."""
    folder = notebook_path.parent
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    if not isinstance(notebook, dict) or "cells" not in notebook:
        raise Refused("not_notebook", notebook_path.name)
    chosen: dict[str, Path] = {notebook_path.name: notebook_path}
    skipped: list[dict] = []
    for name in named_files(notebook):
        candidate = folder / name
        if not os.path.lexists(candidate):
            continue
        real = Path(os.path.realpath(candidate))
        if not inside(real, home):
            skipped.append({"path": name, "reason": "outside_home"})
            continue
        if not inside(real, folder) or real == folder:
            skipped.append({"path": name, "reason": "outside_folder"})
            continue
        if real.is_dir():
            targets = files_under(real, folder)
        elif stat.S_ISREG(real.lstat().st_mode):
            targets = [real]
        else:
            continue
        for target in targets:
            chosen.setdefault(str(target.relative_to(folder)), target)
        if len(chosen) > MAX_NAMED_FILES:
            raise Refused("too_many_files", str(MAX_NAMED_FILES))
    return sorted(chosen.items(), key=lambda item: item[0] != notebook_path.name), skipped


def write_snapshot(home: Path, relative: str, max_bytes: int, out) -> None:
    notebook_path = resolve_notebook(home, relative)
    files, skipped = collect(notebook_path, home)
    total = sum(path.stat().st_size for _, path in files)
    if total > max_bytes:
        raise Refused("too_large", str(total))
    manifest = {
        "notebook": notebook_path.name,
        "files": [name for name, _ in files],
        "skipped": skipped,
        "bytes": total,
    }
    with tarfile.open(fileobj=out, mode="w|") as tar:
        for name, path in files:
            # Opened without following links: the check above and the open see the same file.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                info = tarfile.TarInfo(name)
                info.size = os.fstat(handle.fileno()).st_size
                info.mode = 0o644
                tar.addfile(info, handle)
        data = json.dumps(manifest, ensure_ascii=False).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    home = Path(os.path.realpath(request["home"]))
    try:
        if request["mode"] == "list":
            print(json.dumps(list_notebooks(home), ensure_ascii=False))
            return 0
        write_snapshot(home, request["notebook"], int(request["max_bytes"]), sys.stdout.buffer)
        return 0
    except Refused as exc:
        print(json.dumps({"error": exc.code, "detail": exc.detail}), file=sys.stderr)
        return 3
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(json.dumps({"error": "unreadable", "detail": str(exc)}), file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
