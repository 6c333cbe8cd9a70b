"""The whole nbgrader cycle through the trusted exchange, on a real hub with real Unix accounts:
sync two courses with an overlapping learner, fetch, submit on time and late, collect,
autograde, feedback, with the records database checked at every step. The cycle runs once with
the records database in SQLite and once in PostgreSQL; the other checks once."""

from __future__ import annotations

import json
import pwd
import stat

import pytest

from sunaba.core.layout import CoursePaths, grader_account, grading_root
from sunaba.courses.progress import progress_of
from sunaba.exchange.store import ExchangeStore
from sunaba.grading import cycle
from sunaba.records.db import default_records_url, session_scope
from tests.support.courses import HIDDEN_MARK

pytestmark = pytest.mark.integration


def status(world, course: str, assignment: str, login: str):
    with session_scope(default_records_url(world.config)) as session:
        row = progress_of(session, course, assignment, login)
        if row is None:
            return None
        return {
            "status": row.status,
            "late": row.late,
            "score": row.score,
            "max": row.max_score,
            "attempts": row.attempts,
        }


def listed_courses(world, person) -> set[str]:
    result = world.lab(person, "GET", "assignments", course_id="")
    assert result["success"], result
    return {item["course_id"] for item in result["value"]}


def test_sync_made_groups_accounts_and_private_dirs(sqlite_world):
    world = sqlite_world
    hub = world.hub
    members = {
        group: set(hub.api("GET", f"/groups/{group}").json()["users"])
        for group in ("nbgrader-kiso", "nbgrader-oyo", "formgrade-kiso", "formgrade-oyo")
    }
    assert members == {
        "nbgrader-kiso": {"ann", "bob", "dee"},
        "nbgrader-oyo": {"bob", "cat"},
        "formgrade-kiso": {"teach"},
        "formgrade-oyo": {"teach2"},
    }
    services = {s["name"] for s in hub.api("GET", "/services").json().values()}
    assert {"sunaba-exchange", "formgrader-kiso", "formgrader-oyo"} <= services

    root = grading_root(world.config).stat()
    assert (root.st_uid, stat.S_IMODE(root.st_mode)) == (0, 0o711)
    for course in ("kiso", "oyo"):
        grader = pwd.getpwnam(grader_account(world.config, course))
        paths = CoursePaths.of(world.config, course)
        info = paths.root.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (grader.pw_uid, 0o700)
        assert paths.gradebook.is_file()
    assert stat.S_IMODE(hub.state_dir.stat().st_mode) == 0o700


def test_learners_see_exactly_their_courses(sqlite_world):
    world = sqlite_world
    ann, bob, cat = (world.learner(name) for name in ("ann", "bob", "cat"))
    assert listed_courses(world, ann) == {"kiso"}
    assert listed_courses(world, bob) == {"kiso", "oyo"}
    assert listed_courses(world, cat) == {"oyo"}
    released = world.lab(ann, "GET", "assignments", course_id="kiso")["value"]
    due = {item["assignment_id"]: item["due_ja"] for item in released}
    assert due == {"hw1": "2099年3月31日（火） 17:00", "late": "2020年4月1日（水） 17:00"}


SOLVE = """
import json, pathlib
path = pathlib.Path('kiso/hw1/problem.ipynb')
notebook = json.loads(path.read_text())
for cell in notebook['cells']:
    if cell['metadata'].get('nbgrader', {}).get('grade_id') == 'answer':
        cell['source'] = 'def answer():\\n    return 42'
    if cell['metadata'].get('nbgrader', {}).get('grade_id') == 'written':
        cell['source'] = '42 は答えだからです。'
path.write_text(json.dumps(notebook))
print('solved')
"""


def test_whole_cycle_with_records_at_each_step(world):
    ann = world.learner("ann")
    assert status(world, "kiso", "hw1", "ann") is None  # not fetched

    for assignment in ("hw1", "late"):
        result = world.lab(
            ann, "POST", "assignments/fetch", course_id="kiso", assignment_id=assignment
        )
        assert result["success"], result
    assert status(world, "kiso", "hw1", "ann")["status"] == "fetched"
    released = (world.hub.home_of(ann) / "kiso" / "hw1" / "problem.ipynb").read_text()
    assert HIDDEN_MARK not in released and "### BEGIN SOLUTION" not in released

    assert world.hub.run(ann, SOLVE)["stdout"].strip() == "solved"
    for assignment in ("hw1", "late"):
        result = world.lab(
            ann, "POST", "assignments/submit", course_id="kiso", assignment_id=assignment
        )
        assert result["success"], result
    assert status(world, "kiso", "hw1", "ann") == {
        "status": "submitted", "late": False, "score": None, "max": None, "attempts": 1,
    }  # fmt: skip
    assert status(world, "kiso", "late", "ann")["late"] is True
    listing = world.lab(ann, "GET", "assignments", course_id="kiso")["value"]
    shown = {
        item["assignment_id"]: item["submissions"][-1]["timestamp"]
        for item in listing
        if item["status"] == "submitted"
    }
    assert shown["late"].endswith("提出（締切後）") and shown["hw1"].endswith("提出")

    course, hw1 = cycle.find_course(world.config, "kiso", "hw1")
    cycle.collect(world.config, course, hw1)
    report = cycle.autograde(world.config, course, hw1, ["ann"])
    assert not report.failed, report.lines
    graded = status(world, "kiso", "hw1", "ann")
    assert (graded["status"], graded["score"], graded["max"]) == ("graded", 2.0, 4.0)

    cycle.generate_feedback(world.config, course, hw1, ["ann"])
    report = cycle.release_feedback(world.config, course, hw1, ["ann"])
    assert "  ann" in report.lines
    assert status(world, "kiso", "hw1", "ann")["status"] == "feedback"

    result = world.lab(
        ann, "POST", "assignments/fetch_feedback", course_id="kiso", assignment_id="hw1"
    )
    assert result["success"], result
    html = list((world.hub.home_of(ann) / "kiso" / "hw1" / "feedback").rglob("problem.html"))
    assert len(html) == 1
    text = html[0].read_text()
    assert HIDDEN_MARK not in text and "HIDDEN TESTS" not in text
    assert "非公開のテスト: 合格" in text
    listing = world.lab(ann, "GET", "assignments", course_id="kiso")["value"]
    hw1_item = next(
        i for i in listing if i["assignment_id"] == "hw1" and i["status"] == "submitted"
    )
    assert hw1_item["submissions"][-1]["has_local_feedback"] is True

    # Nobody else sees any of it: not bob in the same course, not cat in the other one.
    bob, cat = world.learner("bob", spawn=False), world.learner("cat", spawn=False)
    seen_by_bob = world.exchange(bob.token, "GET", "api/courses/kiso/submissions").json()
    assert {s["student"] for s in seen_by_bob["submissions"]} <= {"bob"}
    courses_of_cat = world.exchange(cat.token, "GET", "api/courses").json()["courses"]
    assert [c["id"] for c in courses_of_cat] == ["oyo"]
    assert world.exchange(cat.token, "GET", "api/courses/kiso/submissions").status_code == 403


def test_every_attempt_is_kept_with_its_time(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob")
    first = world.submitted(bob, "kiso", "hw1")
    second = world.submitted(bob, "kiso", "hw1")
    assert len(second) == len(first) + 1
    assert [s.stamp for s in second[:-1]] == [s.stamp for s in first]
    assert second[-1].submitted_at > first[-1].submitted_at
    assert status(world, "kiso", "hw1", "bob")["attempts"] == len(second)


def test_resync_is_a_noop(sqlite_world):
    world = sqlite_world
    report = world.sync()
    assert report.ok, report.lines()
    assert report.changes == {} and report.notes == [], report.lines()


def test_broken_course_file_changes_nothing(sqlite_world):
    world = sqlite_world
    path = world.courses / "kiso" / "course.yaml"
    good = path.read_text(encoding="utf-8")
    store = ExchangeStore(world.hub.state_dir / "exchange")
    info_before = json.dumps(store.course_info("kiso"), sort_keys=True)
    broken = good.replace("title:", "titel:", 1).replace("2099-03-31 17:00", "来年の春")
    path.write_text(broken, encoding="utf-8")
    try:
        report = world.sync()
    finally:
        path.write_text(good, encoding="utf-8")
    problems = {p.path: p.message for p in report.problems["kiso"]}
    assert "知らない項目" in problems["titel"]
    assert "日時として読めません" in problems["assignments.0.due"]
    assert "kiso" not in report.changes and "oyo" not in report.problems
    assert json.dumps(store.course_info("kiso"), sort_keys=True) == info_before
    members = set(world.hub.api("GET", "/groups/nbgrader-kiso").json()["users"])
    assert members == {"ann", "bob", "dee"}
