"""Frictionless Table Schema: the subset Sunaba reads, plus a few documented extensions.

Standard properties: `fields` (name, type, format, title, description, constraints,
trueValues, falseValues, groupChar, decimalChar, bareNumber, missingValues), `missingValues`,
`primaryKey` and `fieldsMatch` (from Table Schema v2).

Sunaba extensions, ignored by other Frictionless tools:
- field `rules`: extra checks open-data validators make — `trimmed` (no spaces at either end,
  including 全角スペース), `halfwidth` (no 全角 letters or digits), `katakana` (全角カタカナ only),
  `lg_code` (a 6-digit 全国地方公共団体コード with the right check digit).
- field `zeroValues`: strings that mean 0 in a number column (高松市 writes "-" for zero).
- format `wareki` for date, datetime and year fields: 令和6年1月11日, 令和4年度 and the like.
- schema `rowSums`: `[{total: 総人口, parts: [男性, 女性]}]`, checked on every row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sunaba.datasets.errors import CatalogueError

TYPES = {
    "string": "文字列",
    "integer": "整数",
    "number": "数値",
    "boolean": "真偽値",
    "date": "日付",
    "datetime": "日時",
    "time": "時刻",
    "year": "年",
    "geopoint": "緯度経度",
    "any": "任意の値",
}
RULES = ("trimmed", "halfwidth", "katakana", "lg_code")
FIELDS_MATCH = ("exact", "equal", "subset", "superset", "partial")
CONSTRAINTS = {
    "required": bool,
    "unique": bool,
    "minimum": (int, float, str),
    "maximum": (int, float, str),
    "minLength": int,
    "maxLength": int,
    "pattern": str,
    "enum": list,
}
STRING_FORMATS = ("default", "email", "uri", "uuid", "binary")
DEFAULT_TRUE = ("true", "True", "TRUE", "1")
DEFAULT_FALSE = ("false", "False", "FALSE", "0")
_FIELD_KEYS = {
    "name",
    "type",
    "format",
    "title",
    "description",
    "example",
    "constraints",
    "rules",
    "trueValues",
    "falseValues",
    "groupChar",
    "decimalChar",
    "bareNumber",
    "missingValues",
    "zeroValues",
    "rdfType",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    format: str = "default"
    title: str = ""
    description: str = ""
    constraints: Mapping[str, Any] = field(default_factory=dict)
    rules: tuple[str, ...] = ()
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    group_char: str | None = None
    decimal_char: str = "."
    bare_number: bool = True
    missing_values: tuple[str, ...] | None = None
    zero_values: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    @property
    def unique(self) -> bool:
        return bool(self.constraints.get("unique"))

    @property
    def type_label(self) -> str:
        return TYPES.get(self.type, self.type)


@dataclass(frozen=True)
class RowSum:
    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...]
    missing_values: tuple[str, ...] = ("",)
    primary_key: tuple[str, ...] = ()
    fields_match: str = "exact"
    row_sums: tuple[RowSum, ...] = ()
    name: str = ""
    title: str = ""
    descriptor: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def field_names(self) -> list[str]:
        return [item.name for item in self.fields]

    def field(self, name: str) -> Field:
        for item in self.fields:
            if item.name == name:
                return item
        raise KeyError(name)

    def missing_for(self, item: Field) -> tuple[str, ...]:
        return item.missing_values if item.missing_values is not None else self.missing_values

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "schema") -> Schema:
        """Build a schema, or raise CatalogueError listing every problem with its key path."""
        problems: list[str] = []
        schema = _build_schema(data, problems)
        if problems or schema is None:
            raise CatalogueError(
                "Table Schema が正しくありません:\n" + "\n".join(f"  - {p}" for p in problems),
                file=source,
            )
        return schema


def _strings(value: Any, path: str, problems: list[str]) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{path}: 文字列のリストにしてください")
        return None
    return tuple(value)


def _field_format(fmt: Any, kind: str, path: str, problems: list[str]) -> str:
    if not isinstance(fmt, str):
        problems.append(f"{path}.format: 文字列にしてください")
        return "default"
    if kind == "string" and fmt not in STRING_FORMATS:
        problems.append(f"{path}.format: 文字列の形式は {', '.join(STRING_FORMATS)} のどれかです")
    elif (
        kind in ("integer", "number", "boolean", "geopoint")
        and fmt != "default"
        and not (kind == "geopoint" and fmt in ("array", "object"))
    ):
        problems.append(f"{path}.format: {kind} には format を付けられません")
    return fmt


def _field_constraints(constraints: Any, path: str, problems: list[str]) -> Mapping:
    if not isinstance(constraints, Mapping):
        problems.append(f"{path}.constraints: キーと値の組にしてください")
        return {}
    for key, value in constraints.items():
        expected = CONSTRAINTS.get(key)
        if expected is None:
            problems.append(f"{path}.constraints: 知らない制約「{key}」があります")
        elif not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            problems.append(f"{path}.constraints.{key}: 値の型が違います")
        elif key == "pattern":
            try:
                re.compile(value)
            except re.error as exc:
                problems.append(f"{path}.constraints.pattern: 正規表現が正しくありません（{exc}）")
        elif key == "enum" and not value:
            problems.append(f"{path}.constraints.enum: 空にはできません")
    return constraints


def _field_rules(rules: Any, path: str, problems: list[str]) -> tuple[str, ...]:
    rule_tuple = _strings(rules, f"{path}.rules", problems) or ()
    for rule in rule_tuple:
        if rule not in RULES:
            problems.append(
                f"{path}.rules: 「{rule}」は使えません（使える規則: {', '.join(RULES)}）"
            )
    return rule_tuple


def _build_field(data: Any, path: str, problems: list[str]) -> Field | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: 列の定義（name, type など）を書いてください")
        return None
    start = len(problems)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{path}.name: 列名がありません")
        name = ""
    else:
        path = f"{path}（{name}）"
    for key in data:
        if key not in _FIELD_KEYS:
            problems.append(f"{path}: 知らない項目「{key}」があります")
    kind = data.get("type", "string")
    if kind not in TYPES:
        problems.append(f"{path}.type: 「{kind}」は使えません（使える型: {', '.join(TYPES)}）")
    fmt = _field_format(data.get("format", "default"), kind, path, problems)
    for key in ("title", "description"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{path}.{key}: 文字列にしてください")
    constraints = _field_constraints(data.get("constraints", {}), path, problems)
    rule_tuple = _field_rules(data.get("rules", []), path, problems)
    values = {}
    for key in ("trueValues", "falseValues", "missingValues", "zeroValues"):
        if key in data:
            values[key] = _strings(data[key], f"{path}.{key}", problems)
    group = data.get("groupChar")
    if group is not None and (not isinstance(group, str) or len(group) != 1):
        problems.append(f"{path}.groupChar: 1文字にしてください")
    bare = data.get("bareNumber", True)
    if not isinstance(bare, bool):
        problems.append(f"{path}.bareNumber: true か false にしてください")
    if len(problems) > start:
        return None
    return Field(
        name=name,
        type=kind,
        format=fmt,
        title=data.get("title", ""),
        description=data.get("description", ""),
        constraints=dict(constraints),
        rules=rule_tuple,
        true_values=values.get("trueValues") or DEFAULT_TRUE,
        false_values=values.get("falseValues") or DEFAULT_FALSE,
        group_char=group,
        decimal_char=data.get("decimalChar", "."),
        bare_number=bare,
        missing_values=values.get("missingValues"),
        zero_values=values.get("zeroValues") or (),
    )


def _build_schema(data: Any, problems: list[str]) -> Schema | None:
    if not isinstance(data, Mapping):
        problems.append("schema: fields を持つ辞書にしてください")
        return None
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        problems.append("fields: 列の定義のリストがありません")
        return None
    fields = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_fields):
        built = _build_field(raw, f"fields[{index}]", problems)
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if isinstance(name, str) and name:
            if name in seen:
                problems.append(f"fields[{index}]: 列名「{name}」が重複しています")
            seen.add(name)
        if built is not None:
            fields.append(built)
    missing = ("",)
    if "missingValues" in data:
        missing = _strings(data["missingValues"], "missingValues", problems) or ("",)
    primary = data.get("primaryKey", [])
    if isinstance(primary, str):
        primary = [primary]
    primary_key = _strings(primary, "primaryKey", problems) or ()
    for name in primary_key:
        if name not in seen:
            problems.append(f"primaryKey: 列「{name}」がありません")
    match = data.get("fieldsMatch", "exact")
    if match not in FIELDS_MATCH:
        problems.append(f"fieldsMatch: 「{match}」は使えません（{', '.join(FIELDS_MATCH)}）")
    sums = []
    for index, raw in enumerate(data.get("rowSums", []) or []):
        total = raw.get("total") if isinstance(raw, Mapping) else None
        parts = raw.get("parts") if isinstance(raw, Mapping) else None
        if not isinstance(total, str) or not isinstance(parts, list) or not parts:
            problems.append(
                f"rowSums[{index}]: total（列名）と parts（列名のリスト）を書いてください"
            )
            continue
        for name in [total, *parts]:
            if name not in seen:
                problems.append(f"rowSums[{index}]: 列「{name}」がありません")
        sums.append(RowSum(total, tuple(parts)))
    if problems:
        return None
    return Schema(
        fields=tuple(fields),
        missing_values=missing,
        primary_key=primary_key,
        fields_match=match,
        row_sums=tuple(sums),
        name=str(data.get("name", "")),
        title=str(data.get("title", "")),
        descriptor=dict(data),
    )
