"""The dataset catalogue: one Frictionless Data Package (`datapackage.yaml`) per dataset.

A catalogue directory holds `<name>/datapackage.yaml` and, next to it, the data files:
bundled ones come with the project, remote ones (with a `url`) are written there by
`sunaba datasets fetch`. Datasets are looked for in, in order:

1. the directories in the environment variable SUNABA_DATASETS_PATH (separated by `:`),
2. `<sys.prefix>/../share/datasets` — the public tree `{prefix}/share/datasets` of a Sunaba
   install, whose venv is `{prefix}/venv`; learners' sandboxes see it read-only,
3. the `datasets/` folder of the checkout this code runs from, if any.

Sunaba extensions to the Data Package format: `title_en`, `attribution` (the credit line to
show), `fictional` (made-up data, labelled 架空), and on resources `url` (where `fetch`
downloads the file from) and `standard` (the 自治体標準オープンデータセット it follows).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from sunaba.datasets.csvio import canonical_encoding
from sunaba.datasets.errors import CatalogueError, DatasetError
from sunaba.datasets.headers import header_row_of
from sunaba.datasets.standards import find_standard
from sunaba.datasets.tableschema import Schema

PACKAGE_FILE = "datapackage.yaml"
ENV_PATH = "SUNABA_DATASETS_PATH"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
HASH_PATTERN = re.compile(r"^sha256:([0-9a-f]{64})$")
FICTIONAL_MARK = "架空"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def checkout_datasets_dir() -> Path | None:
    """`datasets/` of the checkout this module runs from (src/sunaba/datasets/ → repo root)."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "datasets").is_dir():
        return root / "datasets"
    return None


def search_path() -> list[Path]:
    """Where `load()` looks for datasets, in order (see the module docstring)."""
    dirs = [Path(item) for item in os.environ.get(ENV_PATH, "").split(os.pathsep) if item]
    dirs.append(Path(sys.prefix).parent / "share" / "datasets")
    checkout = checkout_datasets_dir()
    if checkout is not None:
        dirs.append(checkout)
    return _unique_existing(dirs)


def _unique_existing(dirs: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    result = []
    for directory in dirs:
        resolved = directory.resolve()
        if resolved in seen or not resolved.is_dir():
            continue
        seen.add(resolved)
        result.append(directory)
    return result


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    title: str
    sha256: str
    bytes: int
    encoding: str | None
    schema: Schema
    url: str | None = None
    standard: str | None = None
    delimiter: str = ","
    description: str = ""
    header_row: int = 1  # the row of column names (dialect headerRows); rows above are skipped

    @property
    def remote(self) -> bool:
        return self.url is not None


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    title_en: str
    description: str
    publisher: str
    licenses: tuple[Mapping[str, Any], ...]
    attribution: str
    resources: tuple[Resource, ...]
    directory: Path
    fictional: bool = False
    homepage: str = ""
    sources: tuple[Mapping[str, Any], ...] = ()
    descriptor: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def package_file(self) -> Path:
        return self.directory / PACKAGE_FILE

    @property
    def license_label(self) -> str:
        return "、".join(str(item.get("title") or item.get("name")) for item in self.licenses)

    def resource(self, name: str) -> Resource:
        for item in self.resources:
            if item.name == name:
                return item
        names = "、".join(item.name for item in self.resources)
        raise DatasetError(
            f"データセット「{self.name}」にリソース「{name}」はありません（あるもの: {names}）"
        )


def _problem_list(file: Path, problems: list[str]) -> CatalogueError:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return CatalogueError(f"datapackage.yaml が正しくありません:\n{lines}", file=file)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError("ファイルがありません", file=path) from None
    except UnicodeDecodeError:
        raise CatalogueError("UTF-8 で保存してください", file=path) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogueError(f"YAML として読めません（{problem}）", file=path, row=row) from None


def _text(data: Mapping, key: str, path: str, problems: list[str], required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        if required:
            problems.append(f"{path}{key}: ありません")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(f"{path}{key}: 文字列を書いてください")
        return ""
    return value


def _schema_of(raw: Any, directory: Path, where: str, problems: list[str]) -> Schema | None:
    source = f"{directory.name}/{PACKAGE_FILE} の {where}"
    if isinstance(raw, str):
        relative = PurePosixPath(raw)
        if relative.is_absolute() or ".." in relative.parts:
            problems.append(f"{where}: データセットのフォルダの中のファイルを指してください")
            return None
        schema_file = directory / relative
        source = str(schema_file)
        try:
            raw = read_yaml(schema_file)
        except CatalogueError as exc:
            problems.append(f"{where}: {exc.render()}")
            return None
    try:
        return Schema.from_dict(raw, source=source)
    except CatalogueError as exc:
        problems.append(f"{where}: {exc.message}")
        return None


def _resource(raw: Any, index: int, directory: Path, problems: list[str]) -> Resource | None:
    where = f"resources[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: name, path などを書いてください")
        return None
    start = len(problems)
    name = _text(raw, "name", f"{where}.", problems)
    if name and not NAME_PATTERN.match(name):
        problems.append(f"{where}.name: 半角英小文字・数字・-_. だけにしてください（「{name}」）")
    where = f"{where}（{name}）" if name else where
    path = _text(raw, "path", f"{where}.", problems)
    relative = PurePosixPath(path)
    if path and (relative.is_absolute() or ".." in relative.parts or "://" in path):
        problems.append(f"{where}.path: データセットのフォルダの中の相対パスにしてください")
    url = raw.get("url")
    if url is not None and (not isinstance(url, str) or not re.match(r"^https?://", url)):
        problems.append(f"{where}.url: http:// か https:// で始まる URL にしてください")
    digest = raw.get("hash")
    match = HASH_PATTERN.match(digest) if isinstance(digest, str) else None
    if not match:
        problems.append(f"{where}.hash: 「sha256:」に続けて64桁の16進数（小文字）を書いてください")
    size = raw.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        problems.append(f"{where}.bytes: ファイルの大きさ（バイト数）を整数で書いてください")
    encoding = raw.get("encoding")
    if encoding is not None:
        try:
            encoding = canonical_encoding(str(encoding))
        except DatasetError:
            problems.append(f"{where}.encoding: 知らない文字コード「{encoding}」です")
    standard = raw.get("standard")
    if standard is not None and find_standard(str(standard)) is None:
        problems.append(f"{where}.standard: 「{standard}」という標準データセットはありません")
    dialect = raw.get("dialect") or {}
    delimiter = dialect.get("delimiter", ",") if isinstance(dialect, Mapping) else ","
    header_row = header_row_of(dialect)
    if header_row is None:
        problems.append(f"{where}.dialect.headerRows: 列名の行の番号を [3] のように書いてください")
    if "schema" not in raw:
        problems.append(f"{where}.schema: ありません（列の定義が必要です）")
        schema = None
    else:
        schema = _schema_of(raw["schema"], directory, f"{where}.schema", problems)
    if len(problems) > start or schema is None or match is None:
        return None
    return Resource(
        name=name,
        path=path,
        title=raw.get("title", "") or name,
        sha256=match.group(1),
        bytes=size,
        encoding=encoding,
        schema=schema,
        url=url,
        standard=standard,
        delimiter=delimiter,
        description=raw.get("description", "") or "",
        header_row=header_row or 1,
    )


def _licenses(licenses: Any, problems: list[str]) -> list:
    if not isinstance(licenses, list) or not licenses:
        problems.append("licenses: ライセンス（name, title, path）を書いてください")
        return []
    for index, item in enumerate(licenses):
        if not isinstance(item, Mapping) or not (item.get("name") or item.get("path")):
            problems.append(f"licenses[{index}]: name か path を書いてください")
        elif not item.get("title"):
            problems.append(f"licenses[{index}]: title（ライセンスの名前）を書いてください")
    return licenses


def _resources(raw_resources: Any, directory: Path, problems: list[str]) -> list[Resource]:
    if not isinstance(raw_resources, list) or not raw_resources:
        problems.append("resources: ファイル（リソース）のリストがありません")
        return []
    resources: list[Resource] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_resources):
        built = _resource(raw, index, directory, problems)
        if built is None:
            continue
        if built.name in seen:
            problems.append(f"resources[{index}]: 名前「{built.name}」が重複しています")
        seen.add(built.name)
        resources.append(built)
    return resources


def parse_package(data: Any, directory: Path) -> Dataset:
    """Check a parsed datapackage.yaml and build a Dataset, or raise CatalogueError."""
    file = directory / PACKAGE_FILE
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise _problem_list(file, ["ファイル全体が「キー: 値」の形になっていません"])
    name = _text(data, "name", "", problems)
    if name and name != directory.name:
        problems.append(f"name: フォルダ名「{directory.name}」と同じにしてください（「{name}」）")
    if name and not NAME_PATTERN.match(name):
        problems.append(f"name: 半角英小文字・数字・-_. だけにしてください（「{name}」）")
    title = _text(data, "title", "", problems)
    title_en = _text(data, "title_en", "", problems)
    description = _text(data, "description", "", problems, required=False)
    attribution = _text(data, "attribution", "", problems)
    publishers = [
        item
        for item in data.get("contributors") or []
        if isinstance(item, Mapping) and item.get("role") == "publisher" and item.get("title")
    ]
    if not publishers:
        problems.append("contributors: role: publisher の提供者（title）を書いてください")
    licenses = _licenses(data.get("licenses"), problems)
    fictional = data.get("fictional", False)
    if not isinstance(fictional, bool):
        problems.append("fictional: true か false にしてください")
    elif fictional:
        texts = {"title": title, "description": description, "attribution": attribution}
        problems += [
            f"{key}: 架空のデータであることを「{FICTIONAL_MARK}」と書いて示してください"
            for key, value in texts.items()
            if FICTIONAL_MARK not in value
        ]
    resources = _resources(data.get("resources"), directory, problems)
    if problems:
        raise _problem_list(file, problems)
    return Dataset(
        name=name,
        title=title,
        title_en=title_en,
        description=description,
        publisher="、".join(str(item["title"]) for item in publishers),
        licenses=tuple(licenses),
        attribution=attribution,
        resources=tuple(resources),
        directory=directory,
        fictional=bool(fictional),
        homepage=str(data.get("homepage", "") or ""),
        sources=tuple(item for item in data.get("sources") or [] if isinstance(item, Mapping)),
        descriptor=dict(data),
    )


@functools.lru_cache(maxsize=64)
def _read_package(file: Path, mtime_ns: int, size: int) -> Dataset:
    return parse_package(read_yaml(file), file.parent)


def read_package(directory: Path) -> Dataset:
    file = directory / PACKAGE_FILE
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise CatalogueError("ファイルがありません", file=file) from None
    return _read_package(file, stat.st_mtime_ns, stat.st_size)


class Catalogue:
    """The datasets found in a list of catalogue directories; the first one found wins."""

    def __init__(self, dirs: list[Path] | None = None):
        self.dirs = _unique_existing([Path(d) for d in dirs]) if dirs is not None else search_path()

    def names(self) -> list[str]:
        found: dict[str, None] = {}
        for directory in self.dirs:
            for child in sorted(directory.iterdir()):
                if (child / PACKAGE_FILE).is_file():
                    found.setdefault(child.name, None)
        return sorted(found)

    def get(self, name: str) -> Dataset:
        for directory in self.dirs:
            if (directory / name / PACKAGE_FILE).is_file():
                return read_package(directory / name)
        where = "、".join(str(d) for d in self.dirs) or "（データセットのフォルダが見つかりません）"
        available = "、".join(self.names()) or "なし"
        raise DatasetError(
            f"データセット「{name}」が見つかりません（あるもの: {available}。探した場所: {where}）"
        )

    def datasets(self) -> tuple[list[Dataset], list[CatalogueError]]:
        """Every dataset that reads cleanly, and the errors of those that do not."""
        good, bad = [], []
        for name in self.names():
            try:
                good.append(self.get(name))
            except CatalogueError as exc:
                bad.append(exc)
        return good, bad

    def find_file(self, dataset: Dataset, resource: Resource) -> Path | None:
        """The data file of a resource: beside its datapackage.yaml, else in a later directory."""
        candidates = [dataset.directory / resource.path]
        candidates += [directory / dataset.name / resource.path for directory in self.dirs]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        return None
