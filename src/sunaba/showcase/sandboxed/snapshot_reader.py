"""List an author's notebooks, or pack one notebook and the data files it names.

Run as the author, inside a sandbox where only their home (and the runtime) exists, with
`python -I -c SOURCE REQUEST_JSON`. So whatever the author's files point to (a symlink to another
home, `../../etc/shadow`), this script can read only what the author could read anyway, and it
refuses anything whose real path leaves the home or the notebook's folder.

`{"mode": "list", "home": H}` prints JSON: the notebooks under H.
`{"mode": "snapshot", "home": H, "notebook": REL, "max_bytes": N}` writes an uncompressed tar to
stdout: the notebook, then every file its code opens, reads or lists and every image its Markdown
shows (relative to the notebook's folder), then `.sunaba/manifest.json` (which also lists the
files left out, and why). On refusal it prints JSON `{"error": CODE, "detail": …}`
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


# Calls that open, read or list a file: a string reaches the snapshot only as (part of) an
# argument of one of these, or as the object such a method is called on (`Path("a.csv").read_text()`).
FILE_CALLS = frozenset(
    """
    open read_csv read_excel read_json read_parquet read_table read_fwf read_pickle read_feather
    read_xml read_html read_orc read_stata read_spss read_sas read_file read_text read_bytes
    ExcelFile load_workbook loadtxt genfromtxt load fromfile imread imshow_file from_file
    listdir scandir glob iglob walk iterdir exists isfile isdir is_file
    Image Audio Video FileLink FileLinks IFrame
    """.split()
)


def _code_tree(source: str) -> ast.Module | None:
    """A code cell's syntax tree; IPython magics and shell lines are left out."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def code_strings(source: str) -> list[str]:
    """Every string constant in a code cell (also for cells Python cannot parse)."""
    tree = _code_tree(source)
    if tree is None:
        return [a or b for a, b in QUOTED.findall(source)]
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


class _Paths:
    """What expressions stand for, as far as plain reading tells: string literals, names bound
    to them (also by a `for` over a literal list), `/` and `+` of them, `Path(...)` and
    `os.path.join(...)`."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}

    def values(self, node: ast.AST | None, depth: int = 0) -> list[str]:
        if node is None or depth > 20:
            return []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Name):
            return self.names.get(node.id, [])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
            sep = "/" if isinstance(node.op, ast.Div) else ""
            lefts = self.values(node.left, depth + 1)
            rights = self.values(node.right, depth + 1)
            return [f"{a}{sep}{b}" for a in lefts for b in rights][:50]
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [v for item in node.elts for v in self.values(item, depth + 1)]
        if isinstance(node, ast.Call) and _call_name(node.func) in ("Path", "PurePath", "join"):
            parts = [self.values(arg, depth + 1) for arg in node.args]
            if parts and all(parts):
                joined = parts[0]
                for more in parts[1:]:
                    joined = [f"{a}/{b}" for a in joined for b in more][:50]
                return joined
        return []

    def bind(self, target: ast.AST, values: list[str]) -> None:
        if isinstance(target, ast.Name) and values:
            self.names[target.id] = values


def used_in_code(sources: list[str]) -> list[str]:
    """Paths the code opens, reads or lists, in cell order (cells share their names)."""
    paths = _Paths()
    used: list[str] = []
    for source in sources:
        tree = _code_tree(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    paths.bind(target, paths.values(node.value))
            elif isinstance(node, (ast.For, ast.comprehension)):
                paths.bind(node.target, paths.values(node.iter))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                paths.bind(node.optional_vars, paths.values(node.context_expr))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node.func) not in FILE_CALLS:
                continue
            arguments = [*node.args, *(k.value for k in node.keywords)]
            if isinstance(node.func, ast.Attribute):
                arguments.append(node.func.value)
            for argument in arguments:
                used += paths.values(argument)
    return used


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


def _sources(notebook: dict, kind: str) -> list[str]:
    found = []
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if cell.get("cell_type") == kind:
            found.append(source)
    return found


def _local(names: list[str]) -> list[str]:
    return [name.strip() for name in dict.fromkeys(names) if looks_like_local_path(name)]


def named_files(notebook: dict) -> list[str]:
    """Files the notebook uses: what its code opens, reads or lists, and what its Markdown
    shows. A string that only appears in the code (printed, compared, a label) is not one."""
    names = used_in_code(_sources(notebook, "code"))
    for source in _sources(notebook, "markdown"):
        names += markdown_targets(source)
    return _local(names)


def mentioned_files(notebook: dict) -> list[str]:
    """Strings in the code that look like file names but are not `named_files`: reported as
    left out when such a file exists, since the code may build the path in a way plain reading
    cannot follow."""
    used = set(named_files(notebook))
    strings = [s for source in _sources(notebook, "code") for s in code_strings(source)]
    return [name for name in _local(strings) if name not in used and "." in name]


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


def _place(candidate: Path, home: Path, folder: Path) -> tuple[Path | None, str]:
    """(the real file or folder to pack, "") or (None, why it is left out)."""
    real = Path(os.path.realpath(candidate))
    if not inside(real, home):
        return None, "outside_home"
    if not inside(real, folder) or real == folder:
        return None, "outside_folder"
    if candidate.is_symlink():
        return None, "symlink"
    return real, ""


def collect(
    notebook_path: Path, home: Path, max_bytes: int | None = None
) -> tuple[list[tuple[Path, str]], list[dict]]:
    """(files to pack with their names in the snapshot, files left out with the reason).

    Left out: what lies outside the notebook's folder or the home, symbolic links, files that
    would take the snapshot over `max_bytes`, and files the code names without opening them."""
    folder = notebook_path.parent
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    if not isinstance(notebook, dict) or "cells" not in notebook:
        raise Refused("not_notebook", notebook_path.name)
    chosen: dict[str, Path] = {notebook_path.name: notebook_path}
    skipped: list[dict] = []
    total = notebook_path.stat().st_size
    for name in named_files(notebook):
        candidate = folder / name
        if not os.path.lexists(candidate):
            continue
        real, reason = _place(candidate, home, folder)
        if real is None:
            skipped.append({"path": name, "reason": reason})
            continue
        if real.is_dir():
            targets = files_under(real, folder)
        elif stat.S_ISREG(real.lstat().st_mode):
            targets = [real]
        else:
            continue
        for target in targets:
            member = str(target.relative_to(folder))
            if member in chosen:
                continue
            if target.is_symlink():
                skipped.append({"path": member, "reason": "symlink"})
                continue
            size = target.lstat().st_size
            if max_bytes is not None and total + size > max_bytes:
                skipped.append({"path": member, "reason": "too_large", "bytes": size})
                continue
            chosen[member] = target
            total += size
        if len(chosen) > MAX_NAMED_FILES:
            raise Refused("too_many_files", str(MAX_NAMED_FILES))
    for name in mentioned_files(notebook):
        candidate = folder / name
        if name not in chosen and candidate.name != notebook_path.name and candidate.is_file():
            skipped.append({"path": name, "reason": "not_used"})
    return sorted(chosen.items(), key=lambda item: item[0] != notebook_path.name), skipped


def write_snapshot(home: Path, relative: str, max_bytes: int, out) -> None:
    notebook_path = resolve_notebook(home, relative)
    size = notebook_path.stat().st_size
    if size > max_bytes:
        raise Refused("too_large", str(size))
    files, skipped = collect(notebook_path, home, max_bytes)
    total = sum(path.stat().st_size for _, path in files)
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
