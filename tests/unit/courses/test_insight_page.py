"""The staff dashboard's HTML and its exports, rendered from the fixture course of test_insight:
the right number of bars, a text alternative and a data table for every chart, manual grading
shown as waiting, the per-question scores in the CSV and Excel downloads with the data credit."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from sunaba.classroom.events import RecordsEvents
from sunaba.classroom.identity import Caller
from sunaba.classroom.pages import Pages
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import exchange_root
from sunaba.core.state import public_datasets_dir
from sunaba.courses.insight import days_to
from sunaba.exchange.store import ExchangeStore
from tests.unit.courses.test_insight import DUE_A2, build
from tests.unit.test_up_datasets import write_dataset

TEACH = Caller("user", "teach", frozenset({"formgrade-fx"}))


@pytest.fixture
def pages(tmp_path) -> Pages:
    config = SiteConfig.model_validate(
        {"hub": {"prefix": str(tmp_path / "prefix"), "state_dir": str(tmp_path / "state")}}
    )
    url = f"sqlite:///{tmp_path}/records.sqlite"
    build(url)
    write_dataset(public_datasets_dir(config), "alpha")
    ExchangeStore(exchange_root(config)).write_course_info("fx", {"datasets": ["alpha"]})
    return Pages(config, RecordsEvents(config, url))


def charts(html: str) -> dict[str, str]:
    found = re.findall(r'(<figure class="chart-box" id="chart-(\w+)".*?</figure>)', html, re.S)
    return {name: body for body, name in found}


def test_dashboard_charts_have_bars_text_and_tables(pages):
    html = pages.course_page(TEACH, "fx", "a1")
    found = charts(html)
    assert set(found) == {"overview", "questions", "funnel", "scores"}
    # overview: one bar per assignment; funnel: 5 stages; scores: 5 bins; questions: 3 checked.
    expected = {"overview": 2, "funnel": 5, "scores": 5, "questions": 3}
    for name, body in found.items():
        assert body.count('class="bar"') == expected[name], name
        assert f'aria-labelledby="{name}-title {name}-desc"' in body
        assert re.search(rf'<desc id="{name}-desc">[^<]{{20,}}。</desc>', body), name
        assert "<summary>表で見る</summary>" in body and "<table" in body
        assert "<script" not in body
    # The hardest question comes first, and the sentence says so.
    questions = found["questions"]
    labels = re.findall(r'<rect class="bar"[^>]*><title>(q\d):', questions)
    assert labels == ["q2", "q1", "q3"]
    assert "いちばんつまずいているのは q2" in questions
    assert "2 人（挑戦 3 人、1回目で合格 33%）" in questions  # q2: 1 of 3 first try
    assert '<th scope="row">q1</th><td>4</td><td>4</td><td>0</td><td>25%</td>' in questions
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no CDN


def test_learner_rows_show_states_and_manual_grading_waits(pages):
    html = pages.course_page(TEACH, "fx", "a1")
    row = re.search(r'<tr data-learner="l1">.*?</tr>', html, re.S).group(0)
    assert "手動採点待ち" in row and "採点済み" not in row
    states = re.findall(r'data-question="(\w+)" data-state="(\w+)"', row)
    assert states == [("q1", "passed"), ("q2", "passed"), ("q3", "hinted"), ("written", "manual")]
    assert "formgrader-fx/formgrader/manage_students/l1/a1" in row and "手動採点する" in row
    l4 = re.search(r'<tr data-learner="l4">.*?</tr>', html, re.S).group(0)
    assert "manage_students" not in l4  # nothing submitted: nothing to open
    follow = pages.course_page(TEACH, "fx", "a2")
    overdue = -days_to(DUE_A2, datetime.now(UTC))  # the page counts from today in Japan time
    assert 'data-late="l2"' in follow and f"締切を {overdue} 日過ぎています" in follow
    assert 'data-not-started="l3"' in follow
    assert 'http-equiv="refresh"' not in follow
    assert 'http-equiv="refresh"' in pages.course_page(TEACH, "fx", "a2", follow=True)


def test_csv_export_holds_per_question_scores_and_credit(pages):
    data = pages.course_export("fx", "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    by_login = {r[0]: dict(zip(header, r, strict=False)) for r in rows[1:] if r and r[0][:1] == "l"}
    assert set(by_login) == {"l1", "l2", "l3", "l4"}
    assert by_login["l2"]["A1 / q1"] == "2.0" and by_login["l2"]["A1 / q2"] == "0.0"
    assert by_login["l2"]["A1 / written"] == "2.0" and by_login["l2"]["A1 / nb"] == "5.0"
    assert by_login["l1"]["A1 / written"] == ""  # waiting: no score yet
    assert by_login["l1"]["A1 手動採点待ち"] == "はい（written）"
    assert by_login["l3"]["A1 締切後の提出"] == "はい"
    assert by_login["l2"]["合計得点"] == "5.0" and by_login["l2"]["合計満点"] == "16.0"
    assert by_login["l1"]["氏名"] == "一郎"
    assert "gone" in {r[0] for r in rows if r}  # former learners stay, marked
    credit = rows[rows.index(["データの出典"]) + 2]
    assert credit[0] == "alpha" and credit[3]  # the attribution line of the catalogue entry


def test_xlsx_export_opens_with_openpyxl(pages):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(pages.course_export("fx", "xlsx")))
    sheet = book["成績"]
    values = list(sheet.values)
    header = list(values[0])
    l3 = dict(zip(header, next(v for v in values if v[0] == "l3"), strict=True))
    assert l3["A1 / q1"] == 0 and l3["A1 / written"] == 1 and l3["A1 得点"] == 1
    sources = list(book["データの出典"].values)
    assert sources[1][0] == "alpha" and sources[1][3]


def test_unknown_course_has_no_page_or_export(pages):
    assert pages.course_page(TEACH, "nope") is None
    assert pages.course_export("nope", "csv") is None


def test_admins_read_every_course_and_only_users_can_be_admins(pages):
    admin = Caller.from_model({"kind": "user", "name": "root-admin", "admin": True, "groups": []})
    assert admin.admin and admin.may_read_course("fx") and not admin.is_staff("fx")
    service = Caller.from_model({"kind": "service", "name": "x", "admin": True})
    assert not service.admin and not service.may_read_course("fx")
    learner = Caller.from_model({"name": "l1", "admin": "yes", "groups": ["nbgrader-fx"]})
    assert not learner.admin and not learner.may_read_course("fx")
    store = ExchangeStore(exchange_root(pages.config))
    listing = pages.my_courses(admin, store)
    assert 'data-course="fx"' in listing and "courses/fx" in listing
    assert 'data-course="fx"' not in pages.my_courses(Caller("user", "nobody", frozenset()), store)
