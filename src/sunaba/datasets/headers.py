"""Files whose column names are not on the first line.

Some statistical files open with extra header rows before the row of column names: the
教育用標準データセット SSDSE has item codes on row 1, reference years on row 2 (SSDSE-A) and the
Japanese item names on the last header row. A catalogue resource says which row holds the
names with the Data Package dialect key `headerRows` (1-based, e.g. `headerRows: [3]`);
the rows above it are kept out of the table (their contents belong in the schema's field
descriptions) and the loader reads the rest as an ordinary CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any


def header_row_of(dialect: Any) -> int | None:
    """The 1-based row of column names a resource's dialect names (None when it is invalid).

    `headerRows` may be a list of one row number (Data Package v2) or a bare number;
    absent means row 1.
    """
    if not isinstance(dialect, Mapping) or "headerRows" not in dialect:
        return 1
    value = dialect["headerRows"]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def drop_leading_records(text: str, count: int, delimiter: str = ",") -> str:
    """`text` without its first `count` CSV records (quoted line breaks are respected)."""
    if count <= 0:
        return text
    lines = text.splitlines(keepends=True)
    reader = csv.reader(iter(lines), delimiter=delimiter)
    for _ in range(count):
        if next(reader, None) is None:
            return ""
    return "".join(lines[reader.line_num :])
