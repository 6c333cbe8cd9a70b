"""焼津市 交通事故 2019–2022 read through the mirror: BOM, 全角 spaces in names, padded parts."""

from __future__ import annotations

import pandas as pd

from sunaba.datasets import load, validate

NAME = "yaizu-traffic-accidents"
ROWS = {2019: 907, 2020: 773, 2021: 729, 2022: 675}  # SOURCE.md


def test_four_years_stacked(full_catalogue):
    frame = load(NAME, "accidents-*", catalogue=full_catalogue)
    assert len(frame) == sum(ROWS.values()) == 3084
    assert frame["ファイル"].value_counts().sort_index().tolist() == list(ROWS.values())
    assert (frame["死者数"] > 0).sum() == 8
    assert frame["件数"].eq(1).all()
    days = frame["発生日時（年月日）"]
    assert days.min() == pd.Timestamp(2019, 1, 4) and days.max() == pd.Timestamp(2022, 12, 31)
    assert "焼津市" in frame.attrs["attribution"] and "PDL1.0" in frame.attrs["attribution"]


def test_quirks_are_kept_as_published(full_catalogue):
    frame = load(NAME, "accidents-2019", catalogue=full_catalogue)
    assert "発生日時\u3000\u3000年" in frame.columns  # two 全角 spaces in the name
    assert frame["発生日時\u3000\u3000月"].iloc[0] == "01"  # zero-padded text
    assert frame["事故内容区分"].iloc[0] == "負傷" and frame["事故内容"].iloc[0] == 2


def test_monthly_counts_match_the_source(full_catalogue):
    frame = load(NAME, "accidents-*", catalogue=full_catalogue)
    days = frame["発生日時（年月日）"]
    monthly = frame.groupby([days.dt.year, days.dt.month]).size()
    assert monthly.loc[2020].loc[[4, 5]].tolist() == [38, 49]
    assert monthly.loc[2019].loc[[4, 5]].sum() == 136


def test_every_file_matches_its_schema(full_catalogue):
    for year in ROWS:
        resource = f"accidents-{year}"
        raw = load(NAME, resource, raw=True, catalogue=full_catalogue)
        schema = full_catalogue.get(NAME).resource(resource).schema
        assert len(raw) == ROWS[year] and validate(raw, schema).empty
