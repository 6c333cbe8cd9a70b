"""Every real dataset, fetched through the local mirror of its public source, loaded, validated
against its catalogue schema and checked against facts about it.

The mirror is ../shared/opendata beside the checkout (CI puts shared/ there); without it these
tests are skipped.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from sunaba.datasets import load, validate, validate_lg_code
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch

REPO = Path(__file__).resolve().parents[2]
CATALOGUE_DIR = REPO / "datasets"
MIRROR = REPO.parent / "shared" / "opendata"
REAL = ["takamatsu-population", "takamatsu-facilities", "takamatsu-city-tax", "nanao-shelters"]

pytestmark = pytest.mark.skipif(
    not MIRROR.is_dir(),
    reason=f"the open-data mirror {MIRROR} is absent (CI puts shared/ beside the clone)",
)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Catalogue:
    cache = tmp_path_factory.mktemp("fetched")
    results = fetch(Catalogue([CATALOGUE_DIR]), cache, REAL, mirror=MIRROR)
    assert results and all(r.ok for r in results), [r.message for r in results if not r.ok]
    return Catalogue([cache])  # the cache alone: fetch copies the catalogue entries beside the data


def every_resource():
    catalogue = Catalogue([CATALOGUE_DIR])
    for name in REAL:
        for resource in catalogue.get(name).resources:
            yield pytest.param(name, resource.name, id=f"{name}/{resource.name}")


# Real defects found in the published files, checked against each file's own schema.
KNOWN_PROBLEMS = {
    ("takamatsu-facilities", "aed-location"): 1,  # endTime "1700" without a colon
    ("takamatsu-facilities", "evacuation-space"): 7,  # one row uses "−" (U+2212) instead of "-"
    ("takamatsu-population", "population-202304"): 705,  # names are 文字化け (U+FFFD) upstream
}


@pytest.mark.parametrize(("name", "resource"), list(every_resource()))
def test_loads_and_validates(catalogue, name, resource):
    typed = load(name, resource, catalogue=catalogue)
    raw = load(name, resource, raw=True, catalogue=catalogue)
    assert len(typed) == len(raw) > 0
    schema = catalogue.get(name).resource(resource).schema
    problems = validate(raw, schema)
    assert len(problems) == KNOWN_PROBLEMS.get((name, resource), 0), problems.head(10).to_string()


def test_takamatsu_population_facts(catalogue):
    first = load("takamatsu-population", "population-201904", catalogue=catalogue)
    assert len(first) == 235 and first["totalPopulation"].sum() == 425_949
    assert (first["surveyDate"] == pd.Timestamp(2019, 4, 1)).all()
    assert validate_lg_code(first["prefCode"].iloc[0]) == "372013"
    april = load("takamatsu-population", "population-202404", catalogue=catalogue)
    assert (
        april["totalPopulation"].sum() == 417_963 and april["numberOfHouseholds"].sum() == 203_826
    )
    assert (april["totalPopulation"] == april["male"] + april["woman"]).all()
    assert (april["surveyDate"] == pd.Timestamp(2024, 4, 1)).all()
    july = load("takamatsu-population", "population-202407", catalogue=catalogue)
    assert july["totalPopulation"].sum() == 418_186 and july["male"].sum() == 202_036
    broken = load("takamatsu-population", "population-202304", catalogue=catalogue)
    assert broken["regionName"].str.contains("\ufffd").all()
    assert broken["totalPopulation"].sum() == 419_628
    empty_locations = load("takamatsu-population", "population-202004", catalogue=catalogue)
    assert empty_locations["location"].isna().all()
    births = load("takamatsu-population", "births-deaths-*", catalogue=catalogue)
    by_file = births.groupby("ファイル")[["birthTotal", "deathTotal"]].sum()
    assert by_file.loc["0091_births_deaths_2020.csv"].tolist() == [3_116, 4_589]
    assert by_file.loc["0091_births_deaths_2023.csv"].tolist() == [2_731, 5_341]
    moving = load("takamatsu-population", "moving-in-out-2020", catalogue=catalogue)
    assert len(moving) == 12 and moving["month"].tolist() == list(range(1, 13))


def test_takamatsu_facilities_facts(catalogue):
    aed = load("takamatsu-facilities", "aed-location", catalogue=catalogue)
    assert len(aed) == 455
    assert (
        aed["latitude"].between(34.0, 34.6).all() and aed["longitude"].between(133.7, 134.4).all()
    )
    assert (~aed["address"].str.startswith("高松市")).sum() > 0  # some AEDs lie outside the city
    evacuation = load("takamatsu-facilities", "evacuation-space", catalogue=catalogue)
    assert len(evacuation) == 193 and evacuation["capacity"].sum() == 48_118
    assert set(evacuation["flood_L1"].dropna()) == {"○", "△", "×", "-", "−"}


def test_takamatsu_city_tax_facts(catalogue):
    tax = load("takamatsu-city-tax", catalogue=catalogue)
    assert len(tax) == 21 and (tax["year"] == 2022).all()  # 令和4年度
    details = tax[tax["taxItem"] != "全税目"]
    total = tax[
        (tax["taxItem"] == "全税目") & (tax["carryoverClassification"] == "現年課税分滞納繰越分")
    ]
    assert total["adjustedAmount"].iloc[0] == 66_686_291_195
    assert details["adjustedAmount"].sum() == total["adjustedAmount"].iloc[0]
    assert details["incomeAmount"].sum() == total["incomeAmount"].iloc[0]
    rate = (tax["incomeAmount"] / tax["adjustedAmount"] * 100).round(1)
    assert ((rate - tax["incomeRate"]).abs().dropna() <= 0.1).all()


def test_nanao_facts(catalogue):
    reference = load("nanao-shelters", "reference", catalogue=catalogue)
    assert len(reference) == 112 and reference["ID"].is_unique
    assert set(reference["所在地_全国地方公共団体コード"].dropna()) == {"172022"}
    assert reference["災害種別_地震"].sum() == 93
    against_standard = validate(
        load("nanao-shelters", "reference", raw=True, catalogue=catalogue), "指定緊急避難場所一覧"
    )
    flags = against_standard[against_standard["問題"].str.startswith("「1.0」は使えません")]
    assert len(flags) == 618  # the standard writes 1, this file 1.0
    assert {"全国地方公共団体コード", "地方公共団体名"} <= set(
        against_standard.loc[against_standard["行"].isna(), "列"]
    )
    history = load("nanao-shelters", "history-*", catalogue=catalogue)
    assert history["ファイル"].nunique() == 118 and len(history) == 1_467
    people = history["人数"].sum() + history["人数_令和6年1月9日午後6時時点"].sum()
    assert people == 59_079
    assert history["時点"].min() == datetime(2024, 1, 11, 18) and history["時点"].max() == datetime(
        2024, 9, 2, 18
    )
    first = history["ファイル"] == "open_shelter_Nanao-shi_2024-01-09-1800.csv"
    assert history.loc[first, "時点"].isna().all()  # that file has the time in a column name
    assert history.loc[~first, "時点"].dt.minute.isin([0, 30]).all()
