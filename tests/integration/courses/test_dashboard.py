"""The staff dashboard and its downloads through a real hub, and the attacks on them: another
learner, a staff member of another course, forged course ids; what learners typed never shows."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import nbformat
import pytest

from sunaba.checks.records import CheckEvent
from sunaba.courses.insight_records import record_question_scores
from sunaba.records.db import default_records_url, session_scope

pytestmark = pytest.mark.integration

TYPED = "TYPED-ANSWER-5b1e"  # what a learner writes in a notebook: never on staff pages


def get(world, person, path: str):
    response = person.session.get(
        f"{world.hub.url}/services/sunaba-exchange/{path}", timeout=60, allow_redirects=True
    )
    assert response.status_code < 500, world.hub.log_tail(80)
    return response


@pytest.fixture(scope="module")
def records(sqlite_world):
    """Check records and question scores in both courses, written as the services do."""
    world = sqlite_world
    when = datetime.now(UTC)
    events = [
        ("ann", "kiso", "hw1", "q-kiso", "check", "pass", None),
        ("dee", "kiso", "hw1", "q-kiso", "hint", "hint", 1),
        ("dee", "kiso", "hw1", "q-kiso", "check", "fail", None),
        ("cat", "oyo", "oyo1", "q-oyo-only", "check", "fail", None),
    ]
    with session_scope(default_records_url(world.config)) as session:
        for login, course, assignment, question, kind, result, level in events:
            session.add(
                CheckEvent(login=login, course=course, assignment=assignment, question=question,
                           kind=kind, result=result, hint_level=level, created_at=when)
            )  # fmt: skip
        item = {"notebook": "problem", "cell": "written", "question": "written", "manual": True,
                "score": None, "max_score": 2, "needs_manual_grade": True}  # fmt: skip
        record_question_scores(session, "kiso", "hw1", "ann", [item])
    return world


def test_staff_see_their_course_dashboard_and_downloads(records):
    world = records
    teach = world.learner("teach", spawn=False)
    page = get(world, teach, "courses/kiso?assignment=hw1")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    for login in ("ann", "bob", "dee"):
        assert f'data-learner="{login}"' in html
    assert html.count("<summary>表で見る</summary>") == 4 and "<script" not in html
    assert "いちばんつまずいているのは q-kiso" in html and "q-oyo-only" not in html
    assert 'data-question="q-kiso" data-state="passed"' in html
    assert 'data-learner="cat"' not in html  # in the other course only
    csv_file = get(world, teach, "courses/kiso/grades.csv")
    assert csv_file.status_code == 200 and csv_file.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv_file.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert {r[0] for r in rows[1:] if r} >= {"ann", "bob", "dee"} and "cat" not in rows[0]
    xlsx = get(world, teach, "courses/kiso/grades.xlsx")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx.content))
    assert [r[0] for r in book["成績"].values][1:] == ["ann", "bob", "dee"]


def test_a_learner_cannot_open_any_dashboard_or_download(records):
    world = records
    bob = world.learner("bob", spawn=False)  # learner in both courses
    for path in ("courses/kiso", "courses/oyo", "courses/kiso/grades.csv",
                 "courses/oyo/grades.xlsx", "courses/kiso?assignment=hw1&follow=1"):  # fmt: skip
        response = get(world, bob, path)
        assert response.status_code == 403, path
        assert 'data-learner="ann"' not in response.text and "ann" not in response.text
    mine = get(world, bob, "mycourses").text
    assert "講師用ページ" not in mine and "q-kiso" not in mine and "dee" not in mine


def test_staff_of_another_course_cannot_read_this_one(records):
    world = records
    teach2 = world.learner("teach2", spawn=False)
    for path in ("courses/kiso", "courses/kiso/grades.csv", "courses/kiso/grades.xlsx"):
        assert get(world, teach2, path).status_code == 403, path
    own = get(world, teach2, "courses/oyo?assignment=hw1")  # an assignment of kiso
    assert own.status_code == 200
    assert "q-kiso" not in own.text and 'data-learner="ann"' not in own.text
    assert 'data-learner="cat"' in own.text and "q-oyo-only" in own.text
    oyo_csv = get(world, teach2, "courses/oyo/grades.csv").content.decode("utf-8-sig")
    assert "ann" not in oyo_csv and "dee" not in oyo_csv and "cat" in oyo_csv


def test_forged_course_ids_are_refused(records):
    world = records
    teach = world.learner("teach", spawn=False)
    forged = [
        "courses/oyo",
        "courses/oyo/grades.csv",
        "courses/nosuch",
        "courses/nosuch/grades.xlsx",
        "courses/kiso%2F..%2Foyo",
        "courses/kiso/../oyo/grades.csv",
        "courses/KISO",
        "courses/kiso/grades.json",
        "courses/kiso/grades.csv%00.xlsx",
    ]
    for path in forged:
        response = get(world, teach, path)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "q-oyo-only" not in response.text and 'data-learner="cat"' not in response.text
    # A token in an Authorization header (no browser cookie) gets no more than the cookie does.
    anonymous = world.exchange("", "GET", "courses/kiso/grades.csv")
    assert anonymous.status_code in (302, 403) and b"ann" not in anonymous.content


def test_an_admin_reads_every_course(records):
    world = records
    admin = world.hub.ensure_admin()
    for course, learner in (("kiso", "ann"), ("oyo", "cat")):
        page = get(world, admin, f"courses/{course}")
        assert page.status_code == 200, page.text[:300]
        assert f'data-learner="{learner}"' in page.text
        assert get(world, admin, f"courses/{course}/grades.csv").status_code == 200


def test_what_a_learner_typed_never_reaches_the_dashboard(records):
    world = records
    ann = world.learner("ann")
    folder = world.hub.home_of(ann) / "kiso" / "hw1"
    if not folder.exists():
        fetched = world.lab(ann, "POST", "assignments/fetch", course_id="kiso", assignment_id="hw1")
        assert fetched["success"], fetched
    notebook = nbformat.read(str(folder / "problem.ipynb"), as_version=4)
    notebook.cells[-1].source = f"{TYPED} 理由: 42 だからです"
    nbformat.write(notebook, str(folder / "problem.ipynb"))
    result = world.lab(ann, "POST", "assignments/submit", course_id="kiso", assignment_id="hw1")
    assert result["success"], json.dumps(result)
    teach = world.learner("teach", spawn=False)
    for path in ("courses/kiso?assignment=hw1", "courses/kiso/grades.csv"):
        response = get(world, teach, path)
        assert response.status_code == 200 and TYPED not in response.text
    row = get(world, teach, "courses/kiso?assignment=hw1").text.split('data-learner="ann"')[1]
    assert "手動採点待ち" in row.split("</tr>")[0]
