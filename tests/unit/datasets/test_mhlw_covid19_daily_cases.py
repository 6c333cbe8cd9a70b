"""厚生労働省 新規陽性者数（日別） read through the mirror: two vintages, a padded column."""

from __future__ import annotations

import pandas as pd

from sunaba.datasets import load, validate

NAME = "mhlw-covid19-daily-cases"


def test_final_vintage(full_catalogue):
    frame = load(NAME, "latest", catalogue=full_catalogue)
    assert frame.shape == (1209, 49)
    assert frame["Date"].iloc[0] == pd.Timestamp(2020, 1, 16)
    assert frame["Date"].iloc[-1] == pd.Timestamp(2023, 5, 8)
    assert frame["Date"].diff().dropna().eq(pd.Timedelta(days=1)).all()  # no gaps
    assert str(frame["Tokushima"].dtype) == "Int64"  # "16 " read as a number
    assert frame["ALL"].sum() == 33_738_398
    prefectures = frame.columns[2:]
    assert len(prefectures) == 47 and (frame[prefectures].sum(axis=1) == frame["ALL"]).all()
    april16 = frame.set_index("Date").loc["2020-04-16", "ALL"]
    assert april16 == 583
    assert "厚生労働省" in frame.attrs["attribution"]


def test_trailing_spaces_are_reported_by_validate(full_catalogue):
    raw = load(NAME, "latest", raw=True, catalogue=full_catalogue)
    assert raw["Tokushima"].str.endswith(" ").all()
    schema = full_catalogue.get(NAME).resource("latest").schema
    problems = validate(raw, schema)
    assert len(problems) == 1209 and set(problems["列"]) == {"Tokushima"}


def test_earlier_vintage_differs(full_catalogue):
    early = load(NAME, "vintage-2023-07", catalogue=full_catalogue).set_index("Date")
    late = load(NAME, "latest", catalogue=full_catalogue).set_index("Date")
    assert early["ALL"].sum() == 33_537_123
    assert early.loc["2020-04-16", "ALL"] == 558
    assert (early["ALL"] != late["ALL"]).sum() > 1000
    unallocated = early["ALL"] != early[early.columns[1:]].sum(axis=1)
    assert unallocated.sum() == 6
    raw = load(NAME, "vintage-2023-07", raw=True, catalogue=full_catalogue)
    assert validate(raw, full_catalogue.get(NAME).resource("vintage-2023-07").schema).empty
