"""Item analysis of a fixture course with known records; every expected figure is computed by
hand in the comments, on SQLite and on PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from sunaba.checks.records import CheckEvent
from sunaba.courses.insight import course_insight, pearson
from sunaba.courses.insight_records import record_question_scores
from sunaba.courses.records import CourseAssignment, CourseRecord, Enrolment, Progress
from sunaba.records import PersonData, ensure_records_schema, session_scope, upsert_people
from tests.support.postgres import temporary_database

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
DUE_A1 = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # 12月10日 17:00 JST: 7 days ahead
DUE_A2 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 2 days ago
WHEN = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

# a1: q1 (2 points), q2 (2), q3 (1) autograded, "written" (3) graded by hand.
SCORES = {  # login: (q1, q2, q3, written or None = waiting for manual grading)
    "l1": (2, 2, 1, None),
    "l2": (2, 0, 1, 2),
    "l3": (0, 0, 0, 1),
}
CHECKS = [  # in this order; (login, question, kind, result, hint level)
    ("l1", "q1", "check", "fail", None),
    ("l1", "q1", "check", "pass", None),
    ("l1", "q2", "check", "pass", None),
    ("l1", "q3", "hint", "hint", 1),
    ("l1", "q3", "check", "pass", None),
    ("l2", "q1", "check", "pass", None),
    ("l2", "q2", "check", "fail", None),
    ("l2", "q2", "hint", "hint", 1),
    ("l2", "q2", "hint", "hint", 2),
    ("l2", "q2", "check", "fail", None),
    ("l2", "q2", "check", "fail", None),
    ("l2", "q3", "check", "refused", None),
    ("l2", "q3", "check", "pass", None),
    ("l3", "q1", "hint", "hint", 1),
    ("l3", "q1", "hint", "hint", 2),
    ("l3", "q1", "hint", "hint", 3),
    ("l3", "q1", "check", "fail", None),
    ("l3", "q1", "check", "pass", None),
    ("l3", "q1", "hint", "hint", 1),  # after the pass: no effect on its state
    ("l3", "q2", "check", "fail", None),
    ("l4", "q1", "check", "fail", None),
    ("l4", "q1", "check", "fail", None),
    ("l4", "q1", "check", "fail", None),
    ("l4", "q1", "check", "pass", None),
    ("teach", "q2", "check", "fail", None),  # staff: not counted
    ("gone", "q2", "check", "fail", None),  # left the course: not counted
]


def build(url: str) -> None:
    ensure_records_schema(url)
    with session_scope(url) as s:
        upsert_people(s, [PersonData("l1", "一郎"), PersonData("l2", "二郎")])
        s.add(CourseRecord(course_id="fx", title="練習コース"))
        s.add(CourseRecord(course_id="other", title="別のコース"))
        s.flush()
        for pos, (aid, due) in enumerate([("a1", DUE_A1), ("a2", DUE_A2)]):
            s.add(CourseAssignment(course_id="fx", assignment_id=aid, title=aid.upper(),
                                   position=pos, due=due, points=8, released=True))  # fmt: skip
        for login in ("l1", "l2", "l3", "l4"):
            s.add(Enrolment(course_id="fx", login=login, role="learner", active=True))
        s.add(Enrolment(course_id="fx", login="gone", role="learner", active=False))
        s.add(Enrolment(course_id="fx", login="teach", role="instructor", active=True))
        progress = [
            ("a1", "l1", "graded", 5, WHEN, False),
            ("a1", "l2", "feedback", 5, WHEN, False),
            ("a1", "l3", "graded", 1, WHEN, True),
            ("a1", "l4", "fetched", None, None, False),
            ("a1", "gone", "submitted", None, WHEN, False),
            ("a2", "l1", "submitted", None, WHEN, False),
            ("a2", "l2", "fetched", None, None, False),
        ]
        for aid, login, status, score, submitted, late in progress:
            s.add(Progress(course_id="fx", assignment_id=aid, login=login, status=status,
                           score=score, max_score=8 if score is not None else None,
                           submitted_at=submitted, late=late, attempts=1))  # fmt: skip
        s.flush()
        for login, (q1, q2, q3, written) in SCORES.items():
            cells = [("q1", q1, 2), ("q2", q2, 2), ("q3", q3, 1)]
            items = [
                {"notebook": "nb", "cell": f"test_{q}", "question": q, "score": v, "max_score": m}
                for q, v, m in cells
            ]
            items.append({"notebook": "nb", "cell": "written", "question": "written",
                          "manual": True, "score": written, "max_score": 3,
                          "needs_manual_grade": written is None})  # fmt: skip
            record_question_scores(s, "fx", "a1", login, items)
        for login, question, kind, result, level in CHECKS:
            s.add(CheckEvent(login=login, course="fx", assignment="a1", question=question,
                             kind=kind, result=result, hint_level=level, created_at=WHEN))  # fmt: skip
            s.flush()  # ids in this order
        s.add(CheckEvent(login="l2", course="other", assignment="a1", question="q2",
                         kind="check", result="pass", created_at=WHEN))  # fmt: skip


def check_figures(url: str) -> None:
    build(url)
    with session_scope(url) as s:
        view = course_insight(s, "fx", "a1", now=NOW)
        default = course_insight(s, "fx", now=NOW)
    assert default.selected == "a2"  # the latest released assignment with activity
    assert view.learners == ["l1", "l2", "l3", "l4"]
    a1, a2 = view.assignments
    # l1 graded but waiting for the written answer: 提出済み, not 採点済み.
    assert a1.funnel == {"none": 0, "fetched": 1, "submitted": 1, "graded": 1, "feedback": 1}
    assert a1.manual_pending == 1
    assert a1.histogram == [1, 0, 0, 1, 0]  # l3 1/8 = 12.5 %, l2 5/8 = 62.5 %
    assert a1.not_started == [] and a1.late == [("l3", 7)]
    assert a2.funnel == {"none": 2, "fetched": 1, "submitted": 1, "graded": 0, "feedback": 0}
    assert a2.not_started == [("l3", -2), ("l4", -2)]
    assert a2.late == [("l2", -2), ("l3", -2), ("l4", -2)]  # not submitted, due passed

    stats = {q.question: q for q in view.questions}
    # Most stuck first: q2 (2 tried, not passed), then q1 (first try 1/4) before q3 (1/2).
    assert [q.question for q in view.questions] == ["q2", "q1", "q3", "written"]
    q1, q2, q3 = stats["q1"], stats["q2"], stats["q3"]
    assert (q1.tried, q1.passed, q1.first_try, q1.stuck) == (4, 4, 1, 0)
    assert q1.first_try_rate == 0.25
    assert sorted(q1.attempts_to_pass) == [1, 2, 2, 4] and q1.mean_attempts == 2.25
    assert q1.hint_levels == {3: 1}
    assert (q2.tried, q2.passed, q2.first_try, q2.stuck) == (3, 1, 1, 2)
    assert q2.hint_levels == {2: 1} and q2.attempts_to_pass == [1]
    assert (q3.tried, q3.passed, q3.first_try) == (2, 2, 1)  # a refused answer is a try
    assert sorted(q3.attempts_to_pass) == [1, 2] and q3.hint_levels == {1: 1}
    # Facility = mean / max: q1 (2+2+0)/3/2, q2 (2+0+0)/3/2, q3 (1+1+0)/3/1.
    assert q1.facility == pytest.approx(2 / 3)
    assert q2.facility == pytest.approx(1 / 3)
    assert q3.facility == pytest.approx(2 / 3)
    # Discrimination = r(item, rest of the autograded items):
    # q1 x=(2,2,0) rest=(3,1,0): sxy=8/3, sxx=8/3, syy=14/3 -> 8/sqrt(112)
    # q2 x=(2,0,0) rest=(3,3,0): sxy=2, sxx=8/3, syy=6 -> 1/2
    # q3 x=(1,1,0) rest=(4,2,0): sxy=2, sxx=2/3, syy=8 -> sqrt(3)/2
    assert q1.discrimination == pytest.approx(8 / math.sqrt(112))
    assert q2.discrimination == pytest.approx(0.5)
    assert q3.discrimination == pytest.approx(math.sqrt(3) / 2)
    assert stats["written"].manual and stats["written"].facility is None

    rows = {r.login: r for r in view.rows}
    order = ["q1", "q2", "q3", "written"]
    assert [rows["l1"].states[q] for q in order] == ["passed", "passed", "hinted", "manual"]
    assert [rows["l2"].states[q] for q in order] == ["passed", "tried", "passed", "none"]
    assert [rows["l3"].states[q] for q in order] == ["hinted", "tried", "none", "none"]
    assert [rows["l4"].states[q] for q in order] == ["passed", "none", "none", "none"]
    assert rows["l1"].manual_pending == ["written"] and rows["l1"].stage == "submitted"
    assert rows["l3"].late and not rows["l1"].late
    assert rows["l1"].name == "一郎" and rows["l3"].name == ""
    assert "gone" not in rows and "teach" not in rows


def test_item_analysis_on_sqlite(tmp_path):
    check_figures(f"sqlite:///{tmp_path}/records.sqlite")


@pytest.mark.postgres
def test_item_analysis_on_postgresql():
    with temporary_database() as url:
        check_figures(url)


def test_pearson_without_spread_is_undefined():
    assert pearson([1, 1, 1], [0, 1, 2]) is None
    assert pearson([1], [2]) is None
    assert pearson([0, 1, 2], [0, 2, 4]) == pytest.approx(1.0)


def test_unknown_course_is_none(tmp_path):
    url = f"sqlite:///{tmp_path}/records.sqlite"
    build(url)
    with session_scope(url) as s:
        assert course_insight(s, "nope", now=NOW) is None
