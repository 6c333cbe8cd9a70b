"""`load(name)`: a catalogue dataset as a typed pandas DataFrame."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sunaba.datasets.catalogue import Catalogue, Dataset, Resource
from sunaba.datasets.convert import convert_table, read_text_table, text_frame
from sunaba.datasets.csvio import decode_bytes
from sunaba.datasets.errors import DatasetError
from sunaba.datasets.headers import drop_leading_records
from sunaba.datasets.private import drop_private
from sunaba.datasets.validate import column_problems


def _pick(dataset: Dataset, resource: str | list[str] | None) -> list[Resource]:
    names = [item.name for item in dataset.resources]
    if resource is None:
        if len(dataset.resources) == 1:
            return [dataset.resources[0]]
        raise DatasetError(
            f"「{dataset.name}」には {len(names)} 個のリソースがあります。"
            f'load("{dataset.name}", "リソース名") のように選んでください'
            f"（「*」で複数をまとめて読めます）。リソース: {'、'.join(names)}"
        )
    wanted = [resource] if isinstance(resource, str) else list(resource)
    picked: list[Resource] = []
    for pattern in wanted:
        if any(ch in pattern for ch in "*?["):
            matches = [
                item for item in dataset.resources if fnmatch.fnmatchcase(item.name, pattern)
            ]
            if not matches:
                raise DatasetError(
                    f"「{dataset.name}」に「{pattern}」に当てはまるリソースはありません"
                    f"（リソース: {'、'.join(names)}）"
                )
            picked.extend(matches)
        else:
            picked.append(dataset.resource(pattern))
    unique: dict[str, Resource] = {}
    for item in picked:
        unique.setdefault(item.name, item)
    return list(unique.values())


@dataclass
class _Text:
    """One resource's file read as a table of text."""

    resource: Resource
    label: str
    file: Path
    encoding: str
    table: pa.Table


def _read_text(catalogue: Catalogue, dataset: Dataset, resource: Resource) -> _Text:
    file = catalogue.find_file(dataset, resource)
    if file is None:
        if resource.remote:
            raise DatasetError(
                f"「{dataset.name}」の {resource.path} はまだダウンロードされていません。"
                f"管理者に「sunaba datasets fetch {dataset.name}」を実行してもらってください"
            )
        raise DatasetError(
            f"「{dataset.name}」の {resource.path} が見つかりません（インストールが不完全です）"
        )
    label = f"{dataset.name}/{resource.path}"
    decoded = decode_bytes(file.read_bytes(), file=label, encoding=resource.encoding)
    text = drop_leading_records(decoded.text, resource.header_row - 1, resource.delimiter)
    table = read_text_table(text, file=label, delimiter=resource.delimiter)
    problems = column_problems(table.column_names, resource.schema)
    if problems:
        details = "、".join(f"「{column}」{problem}" for _, column, _, problem in problems[:5])
        raise DatasetError(f"列がカタログの定義と合いません: {details}", file=label)
    return _Text(resource, label, file, decoded.encoding, table)


def _schema_key(part: _Text) -> tuple:
    descriptor = json.dumps(part.resource.schema.descriptor, sort_keys=True, ensure_ascii=False)
    return tuple(part.table.column_names), descriptor


def _runs(parts: list[_Text]) -> list[list[_Text]]:
    """Consecutive files with the same columns and schema: converted together, in order."""
    if len(parts) == 1:
        return [parts]
    runs: list[list[_Text]] = []
    previous = None
    for part in parts:
        key = _schema_key(part)
        if runs and key == previous:
            runs[-1].append(part)
        else:
            runs.append([part])
        previous = key
    return runs


def _convert_run(run: list[_Text], raw: bool) -> pd.DataFrame:
    if raw:
        return text_frame(pa.concat_tables([part.table for part in run]))
    if len(run) == 1:
        return convert_table(run[0].table, run[0].resource.schema, run[0].label)
    try:
        combined = pa.concat_tables([part.table for part in run])
        return convert_table(combined, run[0].resource.schema, run[0].label)
    except DatasetError:
        # Convert file by file so that the error names the right file and row.
        for part in run:
            convert_table(part.table, part.resource.schema, part.label)
        raise


def load(
    name: str,
    resource: str | list[str] | None = None,
    *,
    raw: bool = False,
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """Load a dataset from the catalogue as a pandas DataFrame with the schema's dtypes.

    `resource` picks a file when the dataset has several: a name, a list of names or a pattern
    with `*` (the files are stacked, with a column ファイル saying where each row came from).
    `raw=True` keeps every cell as the text written in the file (for cleaning exercises).
    The credit line to show and the licence are in `df.attrs["attribution"]` and
    `df.attrs["license"]`.

    Types: integer → Int64, number → float64, boolean → boolean, date/datetime → datetime64,
    time → datetime.time, year → Int64, string → str. Loading is lenient (全角 digits, thousands
    separators, 和暦, 午前/午後 are read); a value that still does not fit raises `DatasetError`
    naming the file, row and column. Use `validate()` for the strict checks.
    """
    catalogue = catalogue or Catalogue()
    dataset = catalogue.get(name)
    picked = _pick(dataset, resource)
    parts = [_read_text(catalogue, dataset, item) for item in picked]
    frames = [_convert_run(run, raw) for run in _runs(parts)]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    frame = drop_private(frame, [part.resource.schema for part in parts])
    if len(parts) > 1:
        names = [Path(part.resource.path).name for part in parts]
        counts = [part.table.num_rows for part in parts]
        frame.insert(0, "ファイル", pd.array(np.repeat(names, counts), dtype="str"))
    frame.attrs["encoding"] = parts[0].encoding
    frame.attrs["files"] = [str(part.file) for part in parts]
    title = dataset.title + (
        "（架空のデータ）" if dataset.fictional and "架空" not in dataset.title else ""
    )
    frame.attrs.update(
        {
            "dataset": dataset.name,
            "title": title,
            "attribution": dataset.attribution,
            "license": dataset.license_label,
            "fictional": dataset.fictional,
            "resources": [item.name for item in picked],
            "urls": [item.url for item in picked if item.url],
        }
    )
    return frame
