"""The graders of 「プロトタイピング」: model answers pass, each typical mistake gets its own
message, and no message carries the expected values. The real 七尾市 data is fetched through
the mirror (../shared/opendata) into a temporary SUNABA_DATASETS_PATH."""

from __future__ import annotations

import os
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import pandas as pd
import pytest

from sunaba.checks.grader import GraderDirectory
from sunaba.checks.wire import decode_answer, encode_answer

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
GRADERS = REPO / "graders"
MIRROR = REPO.parent / "shared" / "opendata"
COURSE = "prototyping"
SHELTER = "矢田郷地区コミュニティセンター"


@pytest.fixture(scope="module")
def shelters(tmp_path_factory) -> pd.DataFrame:
    if not MIRROR.is_dir():
        pytest.skip(f"the open-data mirror {MIRROR} is absent (CI puts shared/ beside the clone)")
    from sunaba.datasets import load
    from sunaba.datasets.catalogue import Catalogue
    from sunaba.datasets.fetch import fetch

    target = tmp_path_factory.mktemp("datasets")
    results = fetch(Catalogue([REPO / "datasets"]), target, ["nanao-shelters"], mirror=MIRROR)
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    before = os.environ.get("SUNABA_DATASETS_PATH")
    os.environ["SUNABA_DATASETS_PATH"] = str(target)
    history = load("nanao-shelters", "history-*")
    first = history["時点"].isna()
    history.loc[first, "時点"] = pd.Timestamp("2024-01-09 18:00")
    history.loc[first, "人数"] = history.loc[first, "人数_令和6年1月9日午後6時時点"]
    yield history[["名称", "地区", "時点", "人数"]]
    if before is None:
        os.environ.pop("SUNABA_DATASETS_PATH", None)
    else:
        os.environ["SUNABA_DATASETS_PATH"] = before


@pytest.fixture(scope="module")
def graders(shelters) -> GraderDirectory:
    return GraderDirectory(GRADERS)


def verdict(graders, assignment, question, answer):
    """Judged as the service judges it: through the wire format."""
    value = decode_answer(encode_answer(answer))
    return graders.question(COURSE, assignment, question).judge(value)


def test_every_exercise_of_the_course_has_graders():
    exercises = REPO / "exercises" / COURSE
    folders = sorted(p.name for p in exercises.iterdir() if p.is_dir())
    assert folders == GraderDirectory(GRADERS).assignments(COURSE)


def test_every_mistake_gets_its_own_message(graders):
    for assignment in GraderDirectory(GRADERS).assignments(COURSE):
        for question in graders.questions(COURSE, assignment).values():
            assert len(question.hints) >= 2 and len(question.mistakes) >= 2, question.id
            for mistake in question.mistakes:
                judged = question.judge(mistake.example_value())
                assert not judged.ok and judged.messages[0] == mistake.message, (
                    assignment,
                    question.id,
                    mistake.message,
                )


# -- widgets ---------------------------------------------------------------------------------


def occupancy_of(shelters, name):
    return shelters[shelters["名称"] == name].set_index("時点")["人数"]


def chart(shelters, name=SHELTER, *, title=None, xlabel="時点", ylabel="避難者数（人）"):
    series = occupancy_of(shelters, name)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(series.index, series.to_numpy(dtype=float))
    ax.set_title(f"{name} の避難者数" if title is None else title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def month_summary(shelters, month):
    in_month = shelters[shelters["時点"].dt.month == month]
    return in_month.groupby("名称")["人数"].max().sort_values(ascending=False)


def test_widgets_model_answers_pass(graders, shelters):
    names = sorted(shelters["名称"].unique())
    assert verdict(graders, "widgets", "q1", names).ok
    assert verdict(graders, "widgets", "q2", occupancy_of(shelters, SHELTER)).ok
    # Plotted as a pandas Series too: dates on the x axis are sent as matplotlib numbers.
    fig, ax = plt.subplots()
    occupancy_of(shelters, SHELTER).plot(ax=ax, title=f"{SHELTER}の推移")
    ax.set_xlabel("時点")
    ax.set_ylabel("人数（人）")
    assert verdict(graders, "widgets", "q3", fig).ok
    assert verdict(graders, "widgets", "q3", chart(shelters)).ok
    dropdown = widgets.Dropdown(options=names, value=SHELTER, description="避難所")
    answer = {"選択肢": list(dropdown.options), "説明": dropdown.description, "最初の値": SHELTER}
    assert verdict(graders, "widgets", "q4", answer).ok
    assert verdict(graders, "widgets", "q5", month_summary(shelters, 3)).ok
    slider = widgets.IntSlider(min=1, max=int(shelters["時点"].dt.month.max()), description="月")
    assert verdict(graders, "widgets", "q6", {"最小": 1, "最大": slider.max, "説明": "月"}).ok
    plt.close("all")


def test_widgets_typical_mistakes_teach_without_the_answer(graders, shelters):
    names = sorted(shelters["名称"].unique())
    result = verdict(graders, "widgets", "q1", list(shelters["名称"]))
    assert "unique()" in result.text() and SHELTER not in result.text()
    result = verdict(graders, "widgets", "q2", occupancy_of(shelters, SHELTER).reset_index())
    assert "表（DataFrame）のまま" in result.text()
    other = verdict(graders, "widgets", "q2", occupancy_of(shelters, "山王小学校"))
    assert not other.ok and "262" not in other.text()
    result = verdict(graders, "widgets", "q3", chart(shelters, xlabel="Date", ylabel="People"))
    assert "日本語" in result.text()
    result = verdict(graders, "widgets", "q3", chart(shelters, "山王小学校"))
    assert not result.ok and "線の値" in result.text() and SHELTER not in result.text()
    result = verdict(graders, "widgets", "q3", chart(shelters, title=""))
    assert "タイトルがありません" in result.text()
    answer = {"選択肢": names, "説明": "避難所", "最初の値": names[0]}
    result = verdict(graders, "widgets", "q4", answer)
    assert "value" in result.text() and SHELTER not in result.text()
    totals = shelters[shelters["時点"].dt.month == 3].groupby("名称")["人数"].sum()
    result = verdict(graders, "widgets", "q5", totals)
    assert "合計" in result.text()
    for number in month_summary(shelters, 3).head(3):
        assert f" {number} " not in result.text() and f"{number}人" not in result.text()
    result = verdict(graders, "widgets", "q5", month_summary(shelters, 3).sort_index())
    assert result.messages[0].startswith("数はそろっていますが、多い順に並んでいません")
    result = verdict(graders, "widgets", "q6", {"最小": 1, "最大": 12, "説明": "月"})
    assert "データにない月" in result.text() and "9" not in result.text()
    plt.close("all")


# -- voila-app -------------------------------------------------------------------------------

GOOD_REPORT = {
    "エラー": [],
    "データの読み込み": {"最初の実行": 1, "操作したとき": 0},
    "画面": {"大きな表": [], "横に広いグラフ": [], "グラフの数": 2},
    "最初のセル": "markdown",
    "Markdown": [
        "# 七尾市の避難所\n\n## 使い方\n\n避難所を選びます。\n\n## 出典\n\n"
        "「令和6年能登半島地震 石川県七尾市避難所開設情報GISデータ」（raokiey, CC BY 4.0）を加工して作成。"
    ],
}


def text_part(report):
    return {"最初のセル": report["最初のセル"], "Markdown": report["Markdown"]}


def test_voila_app_model_report_passes(graders):
    assert verdict(graders, "voila-app", "q1", GOOD_REPORT["エラー"]).ok
    assert verdict(graders, "voila-app", "q2", GOOD_REPORT["データの読み込み"]).ok
    assert verdict(graders, "voila-app", "q3", GOOD_REPORT["画面"]).ok
    assert verdict(graders, "voila-app", "q4", text_part(GOOD_REPORT)).ok


def test_voila_app_reports_of_typical_mistakes(graders):
    errors = ["セル 5: NameError: name 'DATA' is not defined"]
    result = verdict(graders, "voila-app", "q1", errors)
    assert "上から順" in result.text() and "セル 5" in result.text()
    result = verdict(graders, "voila-app", "q2", {"最初の実行": 2, "操作したとき": 1})
    assert result.messages[0].startswith("部品を操作するたびにデータを読み直しています")
    screen = {"大きな表": ["セル 3: 1467 行の表"], "横に広いグラフ": [], "グラフの数": 2}
    result = verdict(graders, "voila-app", "q3", screen)
    assert "head(10)" in result.text() and "1467 行" in result.text()
    result = verdict(graders, "voila-app", "q3", {**screen, "大きな表": [], "グラフの数": 0})
    assert "グラフが 1 枚も" in result.text()
    blank = {"最初のセル": "markdown", "Markdown": ["YOUR ANSWER HERE"]}
    assert "YOUR ANSWER HERE のまま" in verdict(graders, "voila-app", "q4", blank).text()
    no_credit = {"最初のセル": "markdown", "Markdown": ["# 避難所アプリ\n\n## 使い方\n\n選びます"]}
    assert "出典" in verdict(graders, "voila-app", "q4", no_credit).text()


# -- showcase-review -------------------------------------------------------------------------

HUB = "https://sunaba.example.lg.jp"


def addresses(mine, reviewed):
    return {"自分のアプリ": mine, "レビューしたアプリ": reviewed}


def test_showcase_review_addresses(graders):
    good = addresses(f"{HUB}/services/showcase/apps/3/", "/services/showcase/apps/12/")
    assert verdict(graders, "showcase-review", "q1", good).ok
    same = addresses(f"{HUB}/services/showcase/apps/3/", f"{HUB}/services/showcase/apps/3")
    assert "同じアプリ" in verdict(graders, "showcase-review", "q1", same).text()
    gallery = addresses(f"{HUB}/services/showcase/", f"{HUB}/services/showcase/apps/4/")
    assert "ギャラリー" in verdict(graders, "showcase-review", "q1", gallery).text()
    manage = addresses(f"{HUB}/services/showcase/manage/3", f"{HUB}/services/showcase/apps/4/")
    assert "管理する" in verdict(graders, "showcase-review", "q1", manage).text()
    typo = addresses("apps/3", f"{HUB}/services/showcase/apps/4/")
    result = verdict(graders, "showcase-review", "q1", typo)
    assert not result.ok and "「自分のアプリ」がアプリの住所になっていません" in result.text()


@pytest.fixture
def records(tmp_path):
    """A records database with the showcase's tables: app 1 published by demo-learner (live),
    app 2 by someone else, app 3 by demo-learner but unpublished."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sunaba.records.models import Base
    from sunaba.showcase.records import ShowcaseApp, ShowcaseVersion

    engine = create_engine(f"sqlite:///{tmp_path}/records.sqlite")
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        for number, author, status in (
            (1, "demo-learner", "live"),
            (2, "tanaka", "live"),
            (3, "demo-learner", "unpublished"),
        ):
            app = ShowcaseApp(
                id=number,
                team="hinan",
                course=COURSE,
                title=f"アプリ{number}",
                notebook="nanao_app.ipynb",
                created_by=author,
                status=status,
                live_version=1,
            )
            app.versions.append(
                ShowcaseVersion(number=1, source_path="nanao_app.ipynb", published_by=author)
            )
            session.add(app)
    yield engine
    engine.dispose()


def test_showcase_review_publication_is_looked_up_for_the_caller(graders, records):
    from sunaba.checks.grader import Caller

    question = graders.question(COURSE, "showcase-review", "q2")
    learner = Caller("demo-learner", records)
    assert question.judge(f"{HUB}/services/showcase/apps/1/", learner).ok
    # Someone else's app, and an app that does not exist, get the same words.
    other = question.judge(f"{HUB}/services/showcase/apps/2/", learner)
    missing = question.judge(f"{HUB}/services/showcase/apps/9/", learner)
    assert not other.ok and "あなたが公開した版は見つかりません" in other.text()
    assert missing.text().replace("9 番", "2 番") == other.text()
    assert question.judge("/services/showcase/apps/2/", Caller("tanaka", records)).ok
    stopped = question.judge(f"{HUB}/services/showcase/apps/3/", learner)
    assert "今は公開されていません" in stopped.text()
    # Without a caller (the autograder) nothing can be confirmed.
    assert not question.judge(f"{HUB}/services/showcase/apps/1/").ok
    gallery = question.judge(f"{HUB}/services/showcase/", learner)
    assert gallery.messages[0].startswith("ギャラリー（アプリの一覧）の住所です")
    huge = question.judge("/services/showcase/apps/" + "9" * 40 + "/", learner)
    assert not huge.ok


def test_only_questions_that_ask_for_the_caller_get_it():
    from sunaba.checks.grader import Caller, Question
    from sunaba.checks.judge import Verdict

    seen = []
    plain = Question("q1", check=lambda a: Verdict.passed(), hints=["a", "b"])
    asking = Question(
        "q2", check=lambda a, c: seen.append(c) or Verdict.passed(), caller=True, hints=["a", "b"]
    )
    assert plain.judge(1, Caller("x")).ok
    assert asking.judge(1, Caller("x")).ok and asking.judge(1).ok
    assert seen == [Caller("x"), None]


# -- the check service hands the caller to questions that ask for it -------------------------

CALLER_GRADER = """
from sunaba.checks.grader import Question
from sunaba.checks.judge import Verdict


def who(answer, caller):
    if caller is not None and caller.engine is not None and caller.login == answer:
        return Verdict.passed()
    return Verdict.failed("別の人です")


QUESTIONS = [Question("q1", check=who, caller=True, hints=["a", "b"])]
"""


class FakeHubAuth:
    access_scopes: set = set()

    def __init__(self, name: str):
        self.name = name

    async def get_user(self, handler, sync=False):
        return {"name": self.name, "kind": "user", "groups": ["nbgrader-whoami"]}

    def check_scopes(self, scopes, model):
        return True


def test_the_check_service_tells_the_grader_who_asks(tmp_path):
    import asyncio
    import json

    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from sunaba.checks.service import Checks, make_app
    from sunaba.config.schema import SiteConfig
    from sunaba.records.db import ensure_records_schema

    folder = tmp_path / "graders" / "whoami"
    folder.mkdir(parents=True)
    (folder / "ex.py").write_text(CALLER_GRADER, encoding="utf-8")
    config = SiteConfig.model_validate({"hub": {"state_dir": str(tmp_path / "state")}})
    records_url = f"sqlite:///{tmp_path}/records.sqlite"
    ensure_records_schema(records_url)
    checks = Checks(config, GraderDirectory(tmp_path / "graders"), records_url)

    async def ask(answer: str) -> dict:
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(make_app(checks, FakeHubAuth("alice"), "/checks/"))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        body = {
            "format": "sunaba-check/1",
            "question": "q1",
            "course": "whoami",
            "assignment": "ex",
            "answer": {"kind": "json", "value": answer},
        }
        try:
            response = await AsyncHTTPClient().fetch(
                f"http://127.0.0.1:{port}/checks/api/check",
                method="POST",
                body=json.dumps(body),
                raise_error=False,
            )
            return json.loads(response.body)
        finally:
            server.stop()

    assert asyncio.run(ask("alice"))["ok"] is True
    assert asyncio.run(ask("bob"))["messages"] == ["別の人です"]
