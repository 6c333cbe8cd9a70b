"""Row-level validation of a table against a Table Schema, reported in Japanese.

`validate(df, schema)` returns one row per problem with the columns 行 (row number as in the
CSV file or Excel: the header is row 1, the first data row is row 2; empty for a problem with a
whole column), 列 (column), 値 (the value as written) and 問題 (what is wrong and how to fix it).
An empty table means no problems.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from sunaba.datasets.checks import check_cell
from sunaba.datasets.resolve import resolve_schema
from sunaba.datasets.tableschema import Field, Schema

COLUMNS = ["行", "列", "値", "問題"]
HEADER_ROWS = 1


def _is_missing(value: Any, missing: tuple[str, ...]) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value in missing
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _shown(value: Any) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def column_problems(columns: list[str], schema: Schema) -> list[tuple[Any, str, str, str]]:
    problems = []
    names = schema.field_names
    present = set(columns)
    known = set(names)
    match = schema.fields_match
    for item in schema.fields:
        if item.name in present:
            continue
        if item.required or match in ("exact", "equal", "subset"):
            kind = "必須の列" if item.required else "列"
            problems.append((pd.NA, item.name, "", f"{kind}がありません"))
    if match in ("exact", "equal", "superset"):
        for name in columns:
            if name not in known:
                problems.append(
                    (pd.NA, name, "", "この表の定義にない列です（列名の誤りかもしれません）")
                )
    if match == "partial" and not present & known:
        problems.append((pd.NA, "", "", "定義された列が一つもありません"))
    if match == "exact" and not problems and list(columns) != names:
        problems.append(
            (pd.NA, "", "", "列の順序が定義と違います（順序: " + "、".join(names) + "）")
        )
    return problems


def validate(df: pd.DataFrame, schema: Schema | dict | str | Path) -> pd.DataFrame:
    """Check every cell of `df` against `schema`; return a table of problems in Japanese.

    `schema` is a `Schema`, a Table Schema dict, the name of a standard schema (for example
    "AED設置箇所一覧" or "aed"), a catalogue entry "dataset/resource", or the path of a schema
    file. Text cells are checked strictly (全角 digits, commas, 和暦 in a date column are
    problems); already typed cells (from `load`) are checked against the constraints.
    """
    schema = resolve_schema(schema)
    if not isinstance(df, pd.DataFrame):
        raise TypeError("validate の最初の引数は pandas.DataFrame です")
    columns = [str(name) for name in df.columns]
    problems: list[tuple[Any, str, str, str]] = column_problems(columns, schema)
    typed_by_field: dict[str, list[Any]] = {}
    failed: dict[str, set[int]] = defaultdict(set)
    for item in schema.fields:
        if item.name not in df.columns:
            continue
        typed_by_field[item.name] = _check_column(df[item.name], item, schema, problems, failed)
    _check_unique(df, schema, typed_by_field, failed, problems)
    _check_sums(schema, typed_by_field, failed, problems)
    order = {name: index for index, name in enumerate(columns)}
    result = pd.DataFrame(problems, columns=COLUMNS)
    result["行"] = result["行"].astype("Int64")
    result["_order"] = result["列"].map(order).fillna(-1)
    result = result.sort_values(["行", "_order"], na_position="first", kind="stable")
    result = result.drop(columns="_order").reset_index(drop=True)
    result.attrs["schema"] = schema.title or schema.name
    return result


def _check_column(
    column: pd.Series,
    item: Field,
    schema: Schema,
    problems: list,
    failed: dict[str, set[int]],
) -> list[Any]:
    missing = schema.missing_for(item)
    typed: list[Any] = []
    for position, value in enumerate(column.tolist()):
        row = position + 1 + HEADER_ROWS
        if _is_missing(value, missing):
            typed.append(None)
            if item.required:
                problems.append((row, item.name, "", "必須項目が空欄です"))
                failed[item.name].add(position)
            continue
        result, problem = check_cell(item, value)
        if problem:
            problems.append((row, item.name, _shown(value), problem))
            failed[item.name].add(position)
            typed.append(None)
        else:
            typed.append(result)
    return typed


def _check_unique(
    df: pd.DataFrame,
    schema: Schema,
    typed_by_field: dict[str, list[Any]],
    failed: dict[str, set[int]],
    problems: list,
) -> None:
    groups = [(item.name,) for item in schema.fields if item.unique and item.name in typed_by_field]
    if schema.primary_key and all(name in typed_by_field for name in schema.primary_key):
        groups.append(tuple(schema.primary_key))
    for names in dict.fromkeys(groups):
        seen: dict[tuple, int] = {}
        for position, key in enumerate(zip(*(typed_by_field[name] for name in names), strict=True)):
            if any(part is None for part in key):
                continue
            if key in seen:
                label = "・".join(names)
                first = seen[key] + 1 + HEADER_ROWS
                problems.append(
                    (
                        position + 1 + HEADER_ROWS,
                        names[0],
                        "・".join(_shown(part) for part in key),
                        f"{label} が重複しています（{first}行目と同じ）",
                    )
                )
                failed[names[0]].add(position)
            else:
                seen[key] = position


def _check_sums(
    schema: Schema,
    typed_by_field: dict[str, list[Any]],
    failed: dict[str, set[int]],
    problems: list,
) -> None:
    for rule in schema.row_sums:
        names = (rule.total, *rule.parts)
        if not all(name in typed_by_field for name in names):
            continue
        skip = set().union(*(failed.get(name, set()) for name in names))
        totals = typed_by_field[rule.total]
        for position, total in enumerate(totals):
            if position in skip or total is None:
                continue
            parts = [typed_by_field[name][position] or 0 for name in rule.parts]
            if sum(parts) != total:
                formula = " + ".join(rule.parts)
                problems.append(
                    (
                        position + 1 + HEADER_ROWS,
                        rule.total,
                        _shown(total),
                        f"合計が合いません（{rule.total} {total:,} ≠ {formula} = {sum(parts):,}）",
                    )
                )
