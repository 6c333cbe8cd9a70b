"""A learner's own progress on マイコース: question states from their own check records only,
progress bars with a text alternative, the due date in Japan time with the days left."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from sunaba.checks.records import CheckEvent
from sunaba.classroom.events import RecordsEvents
from sunaba.classroom.identity import Caller
from sunaba.classroom.pages import Pages
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import exchange_root
from sunaba.courses.course_settings import course_info
from sunaba.courses.insight_records import record_question_scores
from sunaba.courses.learner_progress import Tally, bar_svg, due_left, notebook_questions
from sunaba.courses.model import parse_course
from sunaba.courses.progress import mark_fetched, record_course, record_enrolments
from sunaba.exchange.store import ExchangeStore
from sunaba.records.db import session_scope

COURSE = parse_course(
    {
        "id": "kiso",
        "title": {"ja": "基礎"},
        "instructors": ["teach"],
        "assignments": [
            {"id": "hw1", "title": {"ja": "宿題1"}, "due": "2099-06-30 17:00"},
            {"id": "hw2", "title": {"ja": "宿題2"}, "due": "2020-04-01 17:00"},
            {"id": "hw3", "title": {"ja": "宿題3"}, "opens": "2099-01-01 09:00"},
        ],
    },
    "test",
)
ANN = Caller("user", "ann", frozenset({"nbgrader-kiso"}))
BOB = Caller("user", "bob", frozenset({"nbgrader-kiso"}))


def notebook(*sources: str) -> bytes:
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in sources]
    cells.insert(0, {"cell_type": "markdown", "source": 'check("not-code", 1)', "metadata": {}})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}).encode()


@pytest.fixture
def site(tmp_path):
    config = SiteConfig.model_validate(
        {"hub": {"prefix": str(tmp_path / "prefix"), "state_dir": str(tmp_path / "state")}}
    )
    store = ExchangeStore(exchange_root(config))
    store.write_course_info("kiso", course_info(COURSE))
    hw1 = notebook('check("q1", total)', "x = 1\ncheck( 'q2', x)\nhint(\"q2\")", 'check("q3", y)')
    store.release("kiso", "hw1", {"problem.ipynb": hw1})
    store.release("kiso", "hw2", {"problem.ipynb": notebook("print(1)")})
    store.release("kiso", "hw3", {"problem.ipynb": notebook('check("q9", z)')})
    events = RecordsEvents(config, f"sqlite:///{tmp_path}/records.sqlite")
    now = datetime.now(UTC)
    with session_scope(events.url) as session:
        record_course(session, COURSE, ["hw1", "hw2", "hw3"])
        record_enrolments(session, "kiso", {"learner": {"ann", "bob"}, "instructor": {"teach"}})
        mark_fetched(session, "kiso", "hw1", "ann", now)
        own = [  # ann: q1 passed at once, q2 passed after a hint, q3 not yet
            ("ann", "q1", "check", "pass", None),
            ("ann", "q2", "check", "fail", None),
            ("ann", "q2", "hint", "hint", 1),
            ("ann", "q2", "check", "pass", None),
            ("ann", "q3", "check", "fail", None),
            ("bob", "q3", "check", "pass", None),  # bob's records never count for ann
            ("bob", "q-bob-only", "check", "fail", None),
        ]
        for login, question, kind, result, level in own:
            session.add(
                CheckEvent(login=login, course="kiso", assignment="hw1", question=question,
                           kind=kind, result=result, hint_level=level, created_at=now)
            )  # fmt: skip
            session.flush()
        item = {"notebook": "problem", "cell": "t", "question": "q-graded", "score": 0,
                "max_score": 1}  # fmt: skip
        record_question_scores(session, "kiso", "hw2", "ann", [item])
        record_question_scores(session, "kiso", "hw2", "bob", [dict(item, question="q-bob2")])
    return store, Pages(config, events)


def section(html: str, assignment: str) -> str:
    found = re.search(rf'<section class="assignment" data-assignment="{assignment}">(.*?)</section>',
                      html, re.S)  # fmt: skip
    assert found, html
    return found.group(1)


def test_a_learner_sees_her_own_question_states_bars_and_due_dates(site):
    store, pages = site
    html = pages.my_courses(ANN, store)
    hw1 = section(html, "hw1")
    assert 'data-question="q1" data-state="passed"' in hw1
    assert 'data-question="q2" data-state="hinted"' in hw1
    assert 'data-question="q3" data-state="tried"' in hw1
    assert "3 問中 2 問合格（うちヒントを見て合格 1 問）、挑戦中 1 問" in hw1
    assert 'role="img" aria-label="3 問中 2 問合格' in hw1
    assert "2099年6月30日（火） 17:00" in hw1 and re.search(r"締切まであと \d+ 日", hw1)
    assert "取得済み" in hw1 and "JupyterLab で開く" in hw1
    link = re.search(r'class="open-lab" href="([^"]+)"', hw1).group(1)
    assert link == (
        "/hub/spawn?next=%2Fuser%2Fann%2Fsunaba%2Fopen%3Fcourse%3Dkiso%26assignment%3Dhw1"
    )
    hw2 = section(html, "hw2")  # no check in the notebook; a question of her own grading
    assert 'data-question="q-graded" data-state="none"' in hw2 and "1 問中 0 問合格" in hw2
    assert "締切を過ぎています" in hw2 and "未取得" in hw2
    hw3 = section(html, "hw3")  # released, not open yet: no link
    assert "JupyterLab で開く" not in hw3 and "2099年1月1日（木） 9:00 から取り組めます" in hw3
    assert 'data-question="q9" data-state="none"' in hw3
    assert (
        "全 5 問中 2 問合格（うちヒントを見て合格 1 問）、挑戦中 1 問" in html
        and 'role="img" aria-label="課題 3 件中 0 件提出済み"' in html
    )
    for other in ("q-bob-only", "q-bob2", "bob", "not-code"):
        assert other not in html


def test_another_learner_sees_only_his_own(site):
    store, pages = site
    html = pages.my_courses(BOB, store)
    hw1 = section(html, "hw1")
    assert 'data-question="q3" data-state="passed"' in hw1
    assert 'data-question="q1" data-state="none"' in hw1
    assert 'data-question="q-bob-only" data-state="tried"' in hw1
    assert "4 問中 1 問合格、挑戦中 1 問" in hw1 and "ann" not in html
    assert "q-graded" not in html and 'data-question="q-bob2"' in section(html, "hw2")


def test_due_dates_count_calendar_days_in_japan_time():
    now = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # 23:00 in Japan
    assert due_left(now + timedelta(hours=2), now) == ("締切は明日です", "soon")
    assert due_left(now + timedelta(minutes=30), now) == ("今日が締切です", "soon")
    assert due_left(now + timedelta(days=3), now) == ("締切まであと 3 日", "soon")
    assert due_left(now + timedelta(days=9), now) == ("締切まであと 9 日", "later")
    assert due_left(now - timedelta(seconds=1), now) == ("締切を過ぎています", "past")
    assert due_left(None, now) == ("締切はありません", "none")


def test_bars_escape_their_label_and_scale_their_segments():
    tally = Tally()
    tally.counts.update(passed=1, hinted=1, tried=1, none=1)
    svg = bar_svg(tally.counts, '<b>"x"</b>', width=200)
    assert "<b>" not in svg and "&lt;b&gt;&quot;x&quot;" in svg
    assert 'class="seg-passed" x="0.0" width="50.0"' in svg
    assert 'class="seg-tried" x="100.0" width="50.0"' in svg
    assert Tally().text() == "check で確かめる問題はありません"


def test_broken_notebooks_give_no_questions_and_no_error(tmp_path):
    (tmp_path / "a.ipynb").write_text("{not json", encoding="utf-8")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "b.ipynb").write_bytes(notebook('check("old", 1)'))
    assert notebook_questions(tmp_path) == []
    (tmp_path / "c.ipynb").write_bytes(notebook('check("q2", a)\ncheck("q1", b)'))
    assert notebook_questions(tmp_path) == ["q2", "q1"]
