"""Model solutions reach learners with their feedback, after the due date, and never before.

kiso/hw1 is due in 2099, kiso/late was due in 2020. dee gets feedback for both; bob (same
course, no feedback for `late`) and cat (other course) try to take the solution anyway.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest

from sunaba.exchange.solutions import BEFORE_DUE, CLOSED, NO_FEEDBACK
from sunaba.exchange.store import ExchangeStore, StoreError
from sunaba.grading import cycle
from sunaba.grading.runner import GradingError
from tests.support.courses import HIDDEN_MARK, tar_of

pytestmark = pytest.mark.integration

SOLUTION = "api/courses/kiso/assignments/{}/solution"


def message(response) -> str:
    try:
        return response.json()["message"]
    except ValueError:
        return response.text


def store_of(world) -> ExchangeStore:
    return ExchangeStore(world.hub.state_dir / "exchange")


def graded(world, person, assignment: str):
    """Submit, collect, autograde, generate and release feedback; the release report."""
    world.submitted(person, "kiso", assignment)
    course, item = cycle.find_course(world.config, "kiso", assignment)
    cycle.collect(world.config, course, item)
    assert not cycle.autograde(world.config, course, item, [person.name]).failed
    cycle.generate_feedback(world.config, course, item, [person.name])
    return cycle.release_feedback(world.config, course, item, [person.name])


@pytest.fixture(scope="module")
def solutions_cleanup(sqlite_world):
    """Solutions close submissions: take them away again for the folder's other modules."""
    yield
    for assignment in ("hw1", "late"):
        shutil.rmtree(store_of(sqlite_world)._solutions_dir("kiso", assignment), True)


def test_before_the_due_date_nobody_gets_the_solution(sqlite_world, solutions_cleanup):
    world = sqlite_world
    dee = world.learner("dee")
    report = graded(world, dee, "hw1")
    assert any("解答例はまだ公開していません" in line for line in report.lines), report.lines
    course, hw1 = cycle.find_course(world.config, "kiso", "hw1")
    with pytest.raises(GradingError, match="締切"):
        cycle.release_solutions(world.config, course, hw1)
    with pytest.raises(StoreError):
        store_of(world).put_solutions(
            "kiso", "hw1", {"problem.ipynb": b"{}"}, due=hw1.due, now=datetime.now(UTC)
        )
    assert not store_of(world).has_solutions("kiso", "hw1")

    # Even with solution files planted in the store, the exchange refuses before the due date.
    planted = store_of(world)._solutions_dir("kiso", "hw1")
    planted.mkdir(parents=True)
    (planted / "problem.ipynb").write_text("return 42 " + HIDDEN_MARK)
    try:
        response = world.exchange(dee.token, "GET", SOLUTION.format("hw1"))
        assert response.status_code == 403
        assert message(response).startswith(BEFORE_DUE.split("（")[0])
        assert "2099年3月31日" in message(response)
        assert HIDDEN_MARK not in response.text and b"return 42" not in response.content
        fetched = world.lab(
            dee, "POST", "assignments/fetch_feedback", course_id="kiso", assignment_id="hw1"
        )
        assert fetched["success"], fetched
        home = world.hub.home_of(dee) / "kiso" / "hw1"
        assert not (home / "feedback" / "解答例").exists()
        files = [p for p in home.rglob("*") if p.is_file()]
        assert files and not any(HIDDEN_MARK in p.read_text(errors="replace") for p in files)
    finally:
        shutil.rmtree(planted)


def test_after_the_due_date_feedback_brings_the_solution(sqlite_world, solutions_cleanup):
    world = sqlite_world
    dee, bob, cat = world.learner("dee"), world.learner("bob"), world.learner("cat", spawn=False)
    world.submitted(dee, "kiso", "late")
    early = world.exchange(dee.token, "GET", SOLUTION.format("late"))
    assert early.status_code == 403 and message(early) == NO_FEEDBACK

    report = graded(world, dee, "late")
    assert any("解答例を公開しました" in line for line in report.lines), report.lines
    fetched = world.lab(
        dee, "POST", "assignments/fetch_feedback", course_id="kiso", assignment_id="late"
    )
    assert fetched["success"], fetched
    solution = world.hub.home_of(dee) / "kiso" / "late" / "feedback" / "解答例" / "problem.ipynb"
    text = solution.read_text(encoding="utf-8")
    notebook = json.loads(text)
    assert "return 42" in text  # the model answer
    assert "理由の模範解答" in text  # and the written one
    for hidden in (HIDDEN_MARK, "HIDDEN TESTS", "BEGIN SOLUTION", "nbgrader"):
        assert hidden not in text, hidden
    assert "assert isinstance(answer(), int)" in text  # the visible part of the test stays
    assert all(c.get("outputs", []) == [] for c in notebook["cells"])

    # Learners without feedback for it, or outside the course, get nothing.
    for person, status in ((bob, 403), (cat, 403)):
        response = world.exchange(person.token, "GET", SOLUTION.format("late"))
        assert response.status_code == status
        assert b"return 42" not in response.content
    assert message(world.exchange(bob.token, "GET", SOLUTION.format("late"))) == NO_FEEDBACK

    # With the solution out, no learner can submit the assignment any more.
    late = world.exchange(
        bob.token,
        "POST",
        "api/courses/kiso/assignments/late/submissions",
        data=tar_of({"problem.ipynb": solution.read_bytes()}),
    )
    assert late.status_code == 403 and message(late) == CLOSED
    # …and the assignment list tells them before they try (its 「提出」 is turned off on screen).
    listed = world.lab(bob, "GET", "assignments", course_id="kiso")["value"]
    released = {e["assignment_id"]: e for e in listed if "due_ja" in e}
    assert released["late"]["solutions"] is True and released["late"]["title"], released
    assert released["hw1"]["solutions"] is False, released
