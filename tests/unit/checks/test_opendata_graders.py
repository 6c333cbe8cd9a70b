"""The graders of the demo course 「オープンデータ入門」: the model solutions pass, typical
mistakes fail with a message that helps, and no message carries the expected values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sunaba.checks import assert_check
from sunaba.checks.grader import GraderDirectory
from sunaba.datasets import (
    Catalogue,
    load,
    normalize_text,
    parse_wareki,
    read_csv_ja,
    validate,
)

GRADERS = Path(__file__).resolve().parents[3] / "graders"
COURSE = "opendata-intro"


@pytest.fixture(scope="module")
def graders() -> GraderDirectory:
    return GraderDirectory(GRADERS)


def population_path() -> Path:
    catalogue = Catalogue()
    city = catalogue.get("sunaba-city")
    return catalogue.find_file(city, city.resource("population"))


def verdict(graders, assignment, question, answer):
    return graders.question(COURSE, assignment, question).judge(answer)


def test_every_exercise_of_the_course_has_graders(graders):
    exercises = GRADERS.parent / "exercises" / COURSE
    assert sorted(p.name for p in exercises.iterdir() if p.is_dir()) == graders.assignments(COURSE)


def test_read_csv_model_answers_pass(graders):
    right = read_csv_ja(population_path(), dtype={"地域コード": str, "町字ID": str}, quiet=True)
    assert verdict(graders, "read-csv", "q1", right).ok
    inputs = ["０９９０－２０－３６９６", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]
    assert verdict(graders, "read-csv", "q2", [normalize_text(s) for s in inputs]).ok
    dates = ["令和6年4月1日", "平成31年4月30日", "令和元年5月1日"]
    assert verdict(graders, "read-csv", "q3", [parse_wareki(s) for s in dates]).ok


def test_read_csv_typical_mistakes(graders):
    as_numbers = pd.read_csv(population_path(), encoding="cp932")
    result = verdict(graders, "read-csv", "q1", as_numbers)
    assert (
        not result.ok
        and "列の型が違います: 地域コード（整数、正しくは文字列など）" in result.text()
    )
    assert "001" not in result.text()
    half_done = ["0990-20-3696", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]
    result = verdict(graders, "read-csv", "q2", half_done)
    assert "1 個の要素が違います（位置: 1" in result.text() and "スナバ" not in result.text()
    result = verdict(graders, "read-csv", "q3", ["2024-04-01", "2019-04-30", "2019-05-01"])
    assert not result.ok


def test_check_schema(graders):
    shelters = load("sunaba-city", "shelters", raw=True)
    columns = sorted(set(validate(shelters, "sunaba-city/shelters")["列"]))
    assert verdict(graders, "check-schema", "q1", columns).ok
    assert "要素の数が違います" in verdict(graders, "check-schema", "q1", columns[:2]).text()
    commas_only = shelters.copy()
    commas_only["想定収容人数"] = commas_only["想定収容人数"].str.replace(",", "", regex=False)
    result = verdict(graders, "check-schema", "q2", commas_only)
    assert not result.ok and "まだ" in result.text() and "想定収容人数" not in result.text()
    fixed = commas_only.copy()
    fixed["標高"] = normalize_text(fixed["標高"])
    latitude, longitude = pd.to_numeric(fixed["緯度"]), pd.to_numeric(fixed["経度"])
    swapped = latitude > longitude
    fixed.loc[swapped, ["緯度", "経度"]] = fixed.loc[swapped, ["経度", "緯度"]].to_numpy()
    assert verdict(graders, "check-schema", "q2", fixed).ok
    assert "行の数が変わっています" in verdict(graders, "check-schema", "q2", fixed.head(3)).text()


def test_autograder_cells_agree_with_instant_checks(monkeypatch):
    monkeypatch.setenv("SUNABA_GRADERS_DIR", str(GRADERS))
    right = read_csv_ja(population_path(), dtype={"地域コード": str, "町字ID": str}, quiet=True)
    assert_check("q1", right, course=COURSE, assignment="read-csv")
    with pytest.raises(AssertionError, match="列の型が違います"):
        assert_check("q1", right.astype({"地域コード": int}), course=COURSE, assignment="read-csv")
