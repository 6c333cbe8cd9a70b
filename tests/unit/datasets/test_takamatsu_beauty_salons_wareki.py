"""高松市 美容所開設一覧 through the mirror: era-letter dates, the text placeholder for a missing
date, and the columns of private persons' names that the loader must drop."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sunaba.datasets import WarekiError, load, parse_wareki, validate
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch
from sunaba.datasets.private import private_fields
from tests.unit.datasets.paths import CATALOGUE_DIR

NAME = "takamatsu-beauty-salons-wareki"
PRIVATE = ["開設者申請者名", "開設者代表者名"]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, mirror) -> Catalogue:
    cache = tmp_path_factory.mktemp("salons")
    results = fetch(Catalogue([CATALOGUE_DIR]), cache, [NAME], mirror=mirror)
    assert results and all(r.ok for r in results), [r.message for r in results]
    return Catalogue([cache])


def test_the_catalogue_marks_the_name_columns_private(repo_catalogue):
    schema = repo_catalogue.get(NAME).resource("salons").schema
    assert private_fields(schema) == PRIVATE
    assert not set(PRIVATE) & set(schema.field_names)


def test_the_file_really_has_the_names_and_the_loader_drops_them(catalogue):
    dataset = catalogue.get(NAME)
    file = catalogue.find_file(dataset, dataset.resource("salons"))
    header = file.read_text(encoding="utf-8").splitlines()[0]
    assert all(name in header for name in PRIVATE)  # the published file holds them...
    for raw in (False, True):
        frame = load(NAME, raw=raw, catalogue=catalogue)
        assert not set(PRIVATE) & set(frame.columns)  # ...but no loaded frame does
        assert frame.shape == (1132, 11)


def test_era_letter_dates_and_the_placeholder(catalogue):
    raw = load(NAME, raw=True, catalogue=catalogue)
    typed = load(NAME, catalogue=catalogue)
    assert raw["開設確認日"].iloc[-1] == "R06.08.30"
    assert (raw["開設確認日"] == "確認年月日不明").sum() == 2
    dates = typed["開設確認日"]
    assert dates.isna().sum() == 2
    assert dates.min() == pd.Timestamp(1948, 7, 1) and dates.max() == pd.Timestamp(2024, 8, 30)
    letters = raw["開設確認日"].str[0].value_counts()
    assert (letters["S"], letters["H"], letters["R"]) == (200, 625, 305)
    in_2019 = raw.loc[dates.dt.year == 2019, "開設確認日"].str[:3].value_counts()
    assert (in_2019["H31"], in_2019["R01"]) == (12, 27)
    per_year = dates.dt.year.value_counts()
    assert [per_year[y] for y in range(2018, 2024)] == [46, 39, 62, 67, 61, 51]
    assert validate(raw, catalogue.get(NAME).resource("salons").schema).empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S23.07.01", date(1948, 7, 1)),
        ("S64.01.07", date(1989, 1, 7)),
        ("H01.01.08", date(1989, 1, 8)),
        ("H31.04.30", date(2019, 4, 30)),
        ("R01.05.01", date(2019, 5, 1)),
        ("R06.08.30", date(2024, 8, 30)),
    ],
)
def test_parse_wareki_reads_era_letters_with_two_digit_years(text, expected):
    assert parse_wareki(text) == expected


@pytest.mark.parametrize("text", ["H31.05.01", "R01.04.30", "確認年月日不明"])
def test_parse_wareki_refuses_days_outside_the_era_and_placeholders(text):
    with pytest.raises(WarekiError):
        parse_wareki(text)
