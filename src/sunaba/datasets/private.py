"""Columns that hold private persons' names, dropped whenever a dataset is loaded.

Some registers are published with the names of private individuals (高松市's 美容所開設一覧
names the person who opened each salon). Courses never need those names, and learners must
never see them, so a catalogue schema lists such columns under the Sunaba extension
`privateFields`::

    schema:
      fieldsMatch: subset        # the file has more columns than the fields below
      privateFields: [開設者申請者名, 開設者代表者名]
      fields: [...]              # every other column

`load()` drops them from every frame it returns, typed or `raw=True`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sunaba.datasets.tableschema import Schema

KEY = "privateFields"


def private_fields(schema: Schema) -> list[str]:
    """The column names a schema marks as private (an empty list when none)."""
    names = schema.descriptor.get(KEY) or []
    return [str(name) for name in names]


def drop_private(frame: pd.DataFrame, schemas: Iterable[Schema]) -> pd.DataFrame:
    """`frame` without the private columns of any of `schemas`."""
    private = {name for schema in schemas for name in private_fields(schema)}
    present = [column for column in frame.columns if column in private]
    return frame.drop(columns=present) if present else frame
