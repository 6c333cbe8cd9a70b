"""The graders of 「オープンデータ入門」: the model answers pass through the wire as the notebook
sends them, every typical mistake gets its own message, no message carries an expected value,
and the two bugs learners hit are fixed (read-csv q1's own hint passes; check-schema finds the
○/△ the relaxed schema hid). Real datasets are fetched through the open-data mirror."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sunaba.checks.autograde import verdict as judged
from sunaba.checks.grader import GraderDirectory
from sunaba.datasets import load, normalize_text, parse_wareki, read_csv_ja, validate
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch

REPO = Path(__file__).resolve().parents[3]
GRADERS = REPO / "graders"
COURSE = "opendata-intro"
MIRROR = REPO.parent / "shared" / "opendata"
REAL = ["takamatsu-population", "yaizu-yohairyosya-cp932", "takamatsu-beauty-salons-wareki"]
ASSIGNMENTS = ["first-pandas", "read-csv", "wareki-dates", "check-schema", "charts"]


@pytest.fixture(scope="module", autouse=True)
def datasets(tmp_path_factory):
    """The real datasets fetched through the mirror, first on the search path."""
    if not MIRROR.is_dir():
        pytest.skip(f"the open-data mirror {MIRROR} is absent (it sits beside the clone in CI)")
    cache = tmp_path_factory.mktemp("opendata-intro")
    results = fetch(Catalogue([REPO / "datasets"]), cache, REAL, mirror=MIRROR)
    assert results and all(r.ok for r in results), [r.message for r in results if not r.ok]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUNABA_DATASETS_PATH", str(cache))
        patch.setenv("SUNABA_GRADERS_DIR", str(GRADERS))
        yield cache


@pytest.fixture(scope="module")
def graders() -> GraderDirectory:
    return GraderDirectory(GRADERS)


def check(assignment, question, answer):
    """The verdict the notebook's check() gets: the answer goes through the wire format."""
    return judged(question, answer, course=COURSE, assignment=assignment)


def path(dataset, resource):
    catalogue = Catalogue()
    entry = catalogue.get(dataset)
    return catalogue.find_file(entry, entry.resource(resource))


def every_question():
    directory = GraderDirectory(GRADERS)
    for assignment in ASSIGNMENTS:
        for question in directory.questions(COURSE, assignment):
            yield pytest.param(assignment, question, id=f"{assignment}/{question}")


def test_every_exercise_of_the_course_has_graders(graders):
    exercises = REPO / "exercises" / COURSE
    found = sorted(p.name for p in exercises.iterdir() if p.is_dir())
    assert found == graders.assignments(COURSE) == sorted(ASSIGNMENTS)


def _shown(value) -> list[str]:
    """How an expected value could leak into a message."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [str(int(value))] if abs(value) >= 10 else []
    if isinstance(value, str):
        return [value]
    if isinstance(value, date):
        return [value.isoformat()]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _shown(item)]
    if isinstance(value, pd.Series):
        return _shown([v for v in value.tolist() if isinstance(v, int | float)])
    return []


def _leaks(expected, text) -> list[str]:
    leaked = []
    for shown in _shown(expected):
        pattern = rf"(?<![0-9A-Za-z]){re.escape(shown)}(?![0-9A-Za-z])"
        if re.search(pattern, text):
            leaked.append(shown)
    return leaked


@pytest.mark.parametrize(("assignment", "question"), list(every_question()))
def test_each_mistake_gets_its_own_message_and_none_leaks_the_answer(graders, assignment, question):
    q = graders.question(COURSE, assignment, question)
    assert len(q.hints) >= 2 and len(q.mistakes) >= 2
    expected = q.expected_value() if q.expected is not None else None
    for mistake in q.mistakes:
        result = q.judge(mistake.example_value())
        assert not result.ok, mistake.message
        assert result.messages[0] == mistake.message
        assert not _leaks(expected, result.text()), (mistake.message, result.text())
    for hint in q.hints:
        assert not _leaks(expected, hint), hint


def test_first_pandas_model_answers():
    pop = load("takamatsu-population", "population-202404")
    big = pop[pop["totalPopulation"] >= 10000]
    answers = {
        "q1": len(pop),
        "q2": pop["totalPopulation"].sum(),
        "q3": big,
        "q4": pop.sort_values("totalPopulation", ascending=False).head(5)["regionName"].tolist(),
        "q5": big["totalPopulation"].sum(),
    }
    for question, answer in answers.items():
        assert check("first-pandas", question, answer).ok, question
    assert check("first-pandas", "q3", big.reset_index(drop=True)).ok
    assert not check("first-pandas", "q2", int(pop["totalPopulation"].sum()) - 1).ok


def test_read_csv_q1_accepts_what_its_hint_says():
    """The notebook's hint reads only 地域コード as text; the empty 町字ID may be any type."""
    population = path("sunaba-city", "population")
    as_hinted = read_csv_ja(population, dtype={"地域コード": str}, quiet=True)
    assert as_hinted["町字ID"].isna().all()
    assert check("read-csv", "q1", as_hinted).ok
    both_as_text = read_csv_ja(population, dtype={"地域コード": str, "町字ID": str}, quiet=True)
    assert check("read-csv", "q1", both_as_text).ok
    as_numbers = pd.read_csv(population, encoding="cp932")
    result = check("read-csv", "q1", as_numbers)
    assert not result.ok and "先頭の 0 が消えています" in result.text()
    assert "001" not in result.text()


def test_read_csv_other_questions():
    inputs = ["０９９０－２０－３６９６", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]
    assert check("read-csv", "q2", [normalize_text(s) for s in inputs]).ok
    yaizu = path("yaizu-yohairyosya-cp932", "facilities")
    facilities = read_csv_ja(yaizu, quiet=True)
    assert check("read-csv", "q3", facilities).ok
    assert check("read-csv", "q4", len(facilities)).ok
    lines = len(yaizu.read_bytes().decode("cp932").splitlines())
    assert "セルの中の改行" in check("read-csv", "q4", lines - 1).text()


def test_wareki_dates_model_answers_and_variants():
    salons = load("takamatsu-beauty-salons-wareki", raw=True)
    assert not {"開設者申請者名", "開設者代表者名"} & set(salons.columns)
    texts = ["S23.07.01", "H31.04.30", "R01.05.01", "R06.08.30", "確認年月日不明"]

    def to_date(text):
        return None if text == "確認年月日不明" else parse_wareki(text)

    assert check("wareki-dates", "q1", [to_date(t) for t in texts]).ok
    opened = parse_wareki(salons["開設確認日"].replace("確認年月日不明", None))
    assert check("wareki-dates", "q2", opened).ok
    assert check(
        "wareki-dates", "q2", salons["開設確認日"].map(to_date)
    ).ok  # dates, not datetime64
    per_year = opened.dt.year.value_counts().sort_index().loc[2018:2023]
    assert check("wareki-dates", "q3", per_year).ok
    as_ints = opened.dt.year.dropna().astype(int).value_counts().sort_index().loc[2018:2023]
    assert check("wareki-dates", "q3", as_ints).ok
    one_off = per_year.copy()
    one_off.iloc[0] += 1
    assert not check("wareki-dates", "q3", one_off).ok
    assert check("wareki-dates", "q4", "B").ok
    assert "ではありません" in check("wareki-dates", "q4", "A").text()


def _fix(shelters, flood):
    fixed = shelters.copy()
    fixed["想定収容人数"] = fixed["想定収容人数"].str.replace(",", "", regex=False)
    fixed["標高"] = normalize_text(fixed["標高"])
    latitude, longitude = pd.to_numeric(fixed["緯度"]), pd.to_numeric(fixed["経度"])
    swapped = latitude > longitude
    fixed.loc[swapped, ["緯度", "経度"]] = fixed.loc[swapped, ["経度", "緯度"]].to_numpy()
    if flood is not None:
        fixed["災害種別_洪水"] = fixed["災害種別_洪水"].replace(flood)
    return fixed


def test_check_schema_uses_the_standard_schema():
    shelters = load("sunaba-city", "shelters", raw=True)
    standard = sorted(set(validate(shelters, "指定緊急避難場所一覧")["列"]))
    relaxed = sorted(set(validate(shelters, "sunaba-city/shelters")["列"]))
    assert "災害種別_洪水" in standard and "災害種別_洪水" not in relaxed
    assert check("check-schema", "q1", standard).ok
    assert "カタログの定義" in check("check-schema", "q1", relaxed).text()
    rows = validate(shelters, "指定緊急避難場所一覧")["行"]
    assert check("check-schema", "q2", rows.nunique()).ok
    assert "件数を数えています" in check("check-schema", "q2", len(rows)).text()
    # The old model answer, complete only against the relaxed schema, is no longer enough.
    old = _fix(shelters, None)
    assert validate(old, "sunaba-city/shelters").empty
    result = check("check-schema", "q3", old)
    assert not result.ok and "○ や △ が残っています" in result.text()
    assert check("check-schema", "q3", _fix(shelters, {"○": "1", "△": ""})).ok
    assert check("check-schema", "q3", _fix(shelters, {"○": "1", "△": "0"})).ok
    assert (
        "△ だった行を 1 に"
        in check("check-schema", "q3", _fix(shelters, {"○": "1", "△": "1"})).text()
    )
    assert "行の数が変わっています" in check("check-schema", "q3", old.head(3)).text()


def _charts_data():
    pop = load("takamatsu-population", "population-20??04")
    pop["年"] = pop["surveyDate"].dt.year
    both = pop[pop["年"].isin([2019, 2024])]
    table = both.pivot_table(
        index="regionName", columns="年", values="totalPopulation", aggfunc="sum"
    )
    return pop, table


def test_charts_model_answers_and_figure_checks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pop, table = _charts_data()
    totals = pop.groupby("年")["totalPopulation"].sum()
    assert check("charts", "q1", totals).ok
    assert check("charts", "q2", table).ok
    both = pop[pop["年"].isin([2019, 2024])]
    mean_table = both.pivot_table(index="regionName", columns="年", values="totalPopulation")
    assert check("charts", "q2", mean_table).ok  # one row per 町丁 and year: mean == sum
    try:
        fig, ax = plt.subplots()
        totals.plot(ax=ax, marker="o", title="高松市の人口の推移", xlabel="年", ylabel="人口（人）")
        assert check("charts", "q3", fig).ok
        ax.set_title("")
        assert "タイトルがありません" in check("charts", "q3", fig).text()
        ax.set_title("Population")
        assert "ラベルが英語" in check("charts", "q3", fig).text()
        decline = (table[2019] - table[2024]).sort_values(ascending=False).head(10)
        fig2, ax2 = plt.subplots()
        decline.plot.bar(ax=ax2, title="人口が減った町丁", xlabel="町丁", ylabel="減った人数（人）")
        assert check("charts", "q4", fig2).ok
        fig3, ax3 = plt.subplots()
        decline.sort_values().plot.bar(ax=ax3, title="減った町丁", xlabel="町丁", ylabel="人数")
        assert "大きい順に並んでいません" in check("charts", "q4", fig3).text()
        assert "棒グラフになっていません" in check("charts", "q4", fig).text()
    finally:
        plt.close("all")
