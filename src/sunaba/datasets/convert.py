"""Lenient conversion of a CSV's text columns to the types its Table Schema names.

`load()` uses this. It accepts what people really type and mean unambiguously: 全角 digits and
spaces (NFKC), thousands separators, a minus written "−", 和暦 in date columns, 午前/午後 in time
columns, ○/× in yes-no columns. A value that still does not fit raises `DatasetError` naming
the file, the row and the column. Constraints (ranges, patterns, codes) are `validate()`'s job.

The work is done with pyarrow compute kernels on whole columns (numeric columns sharing the same
options are converted as one block), so loading costs little more than pandas.read_csv.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from datetime import date, datetime, time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sunaba.datasets.checks import Invalid, parse_strict
from sunaba.datasets.errors import DatasetError, WarekiError
from sunaba.datasets.tableschema import Field, Schema
from sunaba.datasets.wareki import FiscalYear, parse_clock, parse_wareki

LENIENT_TRUE = ("○", "〇", "◯", "有", "あり", "はい", "true", "True", "TRUE", "1")
LENIENT_FALSE = ("×", "✕", "無", "なし", "いいえ", "false", "False", "FALSE", "0")
HEADER_ROWS = 1  # row numbers shown to learners count the header as row 1
_INTEGER = r"^[+-]?[0-9]+$"
_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_THOUSANDS = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$"
_GEOPOINT = r"^[+-]?[0-9]+(\.[0-9]+)?\s*,\s*[+-]?[0-9]+(\.[0-9]+)?$"
_MINUS = "\u2212\u2010\u2013\ufe63"
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype


# --- reading ----------------------------------------------------------------------------------


def _bad_record(text: str, delimiter: str) -> tuple[int, int, int] | None:
    """(row, expected, got) of the first record whose field count differs from the header's."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        expected = len(next(reader))
    except StopIteration:
        return None
    for number, record in enumerate(reader, start=HEADER_ROWS + 1):
        if record and len(record) != expected:
            return number, expected, len(record)
    return None


def read_text_table(text: str, *, file: str, delimiter: str = ",") -> pa.Table:
    """A CSV (already decoded) as a table of strings; empty cells stay "" ."""
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except StopIteration:
        raise DatasetError("ファイルが空です（見出し行もありません）", file=file) from None
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DatasetError(f"列名が重複しています: {'、'.join(duplicates)}", file=file, row=1)
    try:
        return pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        found = _bad_record(text, delimiter)
        if found:
            row, expected, got = found
            raise DatasetError(
                f"列の数が合いません（見出しは {expected} 列、この行は {got} 列）。"
                '値の中のカンマを「"」で囲んでいないか確かめてください',
                file=file,
                row=row,
            ) from None
        raise DatasetError(f"CSV として読めません（{exc}）", file=file) from None


def text_frame(table: pa.Table) -> pd.DataFrame:
    """The table as a DataFrame of text, as written in the file."""
    columns = {name: _STR.__from_arrow__(table.column(name)) for name in table.column_names}
    return pd.DataFrame(columns, copy=False)


# --- helpers ----------------------------------------------------------------------------------


def _nfkc(values: pa.Array) -> pa.Array:
    """Trim, and apply NFKC (and a "−" → "-" fix) to the few cells that are not plain ASCII."""
    values = pc.utf8_trim_whitespace(values)
    if pc.all(pc.string_is_ascii(values)).as_py() is not False:
        return values
    items = values.to_pylist()
    for index, item in enumerate(items):
        if item is not None and not item.isascii():
            item = unicodedata.normalize("NFKC", item).strip()
            if item[:1] in _MINUS and item[1:2].isdigit():
                item = "-" + item[1:]
            items[index] = item
    return pa.array(items, pa.string())


def _missing_mask(values: pa.Array, missing: tuple[str, ...]) -> pa.Array:
    options = {value.strip() for value in missing} | {""}
    return pc.fill_null(pc.is_in(values, value_set=pa.array(sorted(options), pa.string())), True)


def _raise_at(
    raw: list[str],
    names: list[str],
    rows: int,
    index: int,
    count: int,
    fields: dict[str, Field],
    file: str,
    reason: str | None = None,
) -> None:
    column = names[index // rows] if rows else names[0]
    row = index % rows if rows else 0
    value = raw[index]
    item = fields[column]
    if reason is None:
        try:
            parse_strict(item, str(value).strip())
            reason = ""
        except Invalid as exc:
            reason = f"（{exc}）"
    more = f"ほかに {count - 1} か所も読めません。" if count > 1 else ""
    raise DatasetError(
        f"値「{value}」を{item.type_label}として読めません{reason}。{more}"
        "load(..., raw=True) で文字列のまま読み込んで直すこともできます",
        file=file,
        row=row + 1 + HEADER_ROWS,
        column=column,
        value=value,
    )


def _first_true(mask: pa.Array) -> tuple[int, int]:
    flags = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    positions = np.flatnonzero(flags)
    return int(positions[0]), len(positions)


# --- numbers (converted in blocks of columns sharing the same options) -------------------------


def _number_key(item: Field, missing: tuple[str, ...]) -> tuple:
    return (
        item.type,
        missing,
        item.zero_values,
        item.group_char,
        item.decimal_char,
        item.bare_number,
    )


def _numbers(
    columns: dict[str, pa.Array], fields: dict[str, Field], missing: tuple[str, ...], file: str
) -> dict[str, pa.Array]:
    names = list(columns)
    item = fields[names[0]]
    rows = len(columns[names[0]])
    raw = pa.concat_arrays([columns[name] for name in names])
    text = _nfkc(raw)
    skip = _missing_mask(text, missing)
    zero = None
    if item.zero_values:
        zero = pc.is_in(
            text, value_set=pa.array(sorted({v.strip() for v in item.zero_values}), pa.string())
        )
        skip = pc.or_(skip, zero)
    if item.decimal_char != ".":
        text = pc.replace_substring(text, item.decimal_char, ".")
    pattern = _INTEGER if item.type == "integer" else _NUMBER
    valid = pc.match_substring_regex(text, pattern)
    bad = pc.and_not(pc.invert(valid), skip)
    if pc.any(bad).as_py():
        # Only files with separators or units pay for these passes.
        group = item.group_char or ","
        if pc.any(pc.match_substring(text, group)).as_py():
            if group == ",":
                # A thousands-separated number is a valid number once its commas are gone.
                thousands = pc.match_substring_regex(text, _THOUSANDS)
                text = pc.if_else(thousands, pc.replace_substring(text, ",", ""), text)
                valid = pc.or_(valid, thousands)
            else:
                text = pc.replace_substring(text, group, "")
                valid = pc.match_substring_regex(text, pattern)
            bad = pc.and_not(pc.invert(valid), skip)
        if not item.bare_number and pc.any(bad).as_py():
            found = pc.extract_regex(text, r"(?P<n>[+-]?[0-9]+(?:\.[0-9]+)?)")
            text = pc.if_else(pc.is_valid(found), pc.struct_field(found, [0]), text)
            valid = pc.match_substring_regex(text, pattern)
            bad = pc.and_not(pc.invert(valid), skip)
        if pc.any(bad).as_py():
            index, count = _first_true(bad)
            _raise_at(raw.to_pylist(), names, rows, index, count, fields, file)
    kind = pa.int64() if item.type == "integer" else pa.float64()
    numbers = pc.cast(pc.if_else(skip, pa.scalar(None, pa.string()), text), kind)
    if zero is not None:
        numbers = pc.if_else(zero, pa.scalar(0, kind), numbers)
    # Build the pandas arrays directly: much cheaper than Table.to_pandas column by column.
    if item.type == "integer":
        nulls = pc.is_null(numbers).to_numpy(zero_copy_only=False).reshape(len(names), rows)
        values = pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False).reshape(len(names), rows)
        return {name: pd.arrays.IntegerArray(values[i], nulls[i]) for i, name in enumerate(names)}
    values = numbers.to_numpy(zero_copy_only=False).reshape(len(names), rows)
    return {name: values[i] for i, name in enumerate(names)}


# --- other types ------------------------------------------------------------------------------


def _strings(values: pa.Array, missing: tuple[str, ...]) -> pa.Array:
    if missing == ("",):
        blank = pc.equal(values, "")
    else:
        blank = pc.is_in(values, value_set=pa.array(list(missing), pa.string()))
    return pc.if_else(blank, pa.scalar(None, pa.string()), values)


def _elementwise(values: pa.Array, skip: pa.Array, item: Field, file: str, parse) -> list:
    texts = values.to_pylist()
    flags = skip.to_pylist()
    out: list = []
    for position, (text, blank) in enumerate(zip(texts, flags, strict=True)):
        if blank:
            out.append(None)
            continue
        try:
            out.append(parse(text))
        except (Invalid, WarekiError, ValueError) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            _raise_at(
                texts,
                [item.name],
                len(texts),
                position,
                1,
                {item.name: item},
                file,
                f"（{reason}）",
            )
    return out


def _booleans(values: pa.Array, item: Field, missing: tuple[str, ...], file: str) -> pa.Array:
    text = _nfkc(values)
    skip = _missing_mask(text, missing)
    declared_true = set(item.true_values)
    declared_false = set(item.false_values)
    true_set = (set(LENIENT_TRUE) - declared_false) | declared_true
    false_set = (set(LENIENT_FALSE) - declared_true) | declared_false
    yes = pc.is_in(text, value_set=pa.array(sorted(true_set), pa.string()))
    no = pc.is_in(text, value_set=pa.array(sorted(false_set), pa.string()))
    bad = pc.and_not(pc.invert(pc.or_(yes, no)), skip)
    if pc.any(bad).as_py():
        index, count = _first_true(bad)
        _raise_at(
            values.to_pylist(), [item.name], len(values), index, count, {item.name: item}, file
        )
    return pc.if_else(skip, pa.scalar(None, pa.bool_()), yes)


def _dates(values: pa.Array, item: Field, missing: tuple[str, ...], file: str) -> pa.Array:
    text = _nfkc(values)
    skip = _missing_mask(text, missing)
    want_time = item.type == "datetime"
    fmt = item.format
    if fmt in ("default", "any", "wareki"):
        fmt = "%Y-%m-%dT%H:%M:%S" if want_time else "%Y-%m-%d"
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    rest = pc.and_not(pc.is_null(parsed), skip)
    if not pc.any(rest).as_py():
        return parsed

    def one(value: str) -> datetime:
        for shape in (
            "%Y-%m-%d",
            "%Y/%m/%d",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S",
            "%Y/%m/%d %H:%M",
        ):
            try:
                found = datetime.strptime(value, shape)
            except ValueError:
                continue
            if found.time() != time() and not want_time:
                raise Invalid("日付の列に時刻が含まれています")
            return found
        found = parse_wareki(value)
        if isinstance(found, datetime):
            if not want_time:
                raise Invalid("日付の列に時刻が含まれています")
            return found
        if isinstance(found, date):
            return datetime.combine(found, time())
        raise Invalid("年月日がありません")

    extra = pa.array(_elementwise(text, pc.invert(rest), item, file, one), pa.timestamp("s"))
    return pc.if_else(rest, extra, parsed)


def convert_table(table: pa.Table, schema: Schema, file: str) -> pd.DataFrame:
    """Convert every column the schema describes; columns it does not describe stay text."""
    arrays: dict[str, pa.Array] = {}
    blocks: dict[tuple, dict[str, pa.Array]] = defaultdict(dict)
    fields: dict[str, Field] = {}
    for name in table.column_names:
        values = table.column(name).combine_chunks()
        try:
            item = schema.field(name)
        except KeyError:
            arrays[name] = values
            continue
        fields[name] = item
        missing = schema.missing_for(item)
        kind = item.type
        if kind in ("integer", "number"):
            blocks[_number_key(item, missing)][name] = values
        elif kind == "boolean":
            arrays[name] = _booleans(values, item, missing, file)
        elif kind in ("date", "datetime"):
            arrays[name] = _dates(values, item, missing, file)
        elif kind == "time":
            text = _nfkc(values)
            parsed = _elementwise(text, _missing_mask(text, missing), item, file, parse_clock)
            arrays[name] = pa.array(parsed, pa.time64("us"))
        elif kind == "year":
            text = _nfkc(values)
            parsed = _elementwise(text, _missing_mask(text, missing), item, file, _year)
            arrays[name] = pa.array(parsed, pa.int64())
        elif kind == "geopoint":
            text = _nfkc(values)
            skip = _missing_mask(text, missing)
            bad = pc.and_not(pc.invert(pc.match_substring_regex(text, _GEOPOINT)), skip)
            if pc.any(bad).as_py():
                index, count = _first_true(bad)
                _raise_at(values.to_pylist(), [name], len(values), index, count, {name: item}, file)
            arrays[name] = pc.if_else(skip, pa.scalar(None, pa.string()), values)
        else:
            arrays[name] = _strings(values, missing)
    for key, columns in blocks.items():
        arrays.update(_numbers(columns, fields, key[1], file))
    return pd.DataFrame({name: _pandas(arrays[name]) for name in table.column_names}, copy=False)


def _pandas(values):
    """A pandas-ready array for one converted column."""
    if not isinstance(values, pa.Array):
        return values
    kind = values.type
    if kind == pa.string():
        return _STR.__from_arrow__(values)
    if kind == pa.bool_():
        nulls = pc.is_null(values).to_numpy(zero_copy_only=False)
        return pd.arrays.BooleanArray(
            pc.fill_null(values, False).to_numpy(zero_copy_only=False), nulls
        )
    if kind == pa.int64():
        nulls = pc.is_null(values).to_numpy(zero_copy_only=False)
        return pd.arrays.IntegerArray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), nulls)
    if pa.types.is_timestamp(kind):
        return values.to_numpy(zero_copy_only=False)
    return np.array(values.to_pylist(), dtype=object)


def _year(value: str) -> int:
    if value.isdigit() and len(value) == 4:
        return int(value)
    found = parse_wareki(value)
    if isinstance(found, FiscalYear):
        return found.year
    if isinstance(found, int):
        return found
    raise Invalid("年ではありません")
