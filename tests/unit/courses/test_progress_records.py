"""Course tables of the records database (SQLite here; the integration tier also runs them on
PostgreSQL through a hub)."""

from __future__ import annotations

from datetime import UTC, datetime

from sunaba.courses.model import parse_course
from sunaba.courses.progress import (
    course_view,
    mark_feedback,
    mark_fetched,
    mark_graded,
    mark_submitted,
    record_course,
    record_enrolments,
)
from sunaba.records.db import ensure_records_schema, session_scope

COURSE = parse_course(
    {
        "id": "kiso",
        "title": {"ja": "基礎"},
        "instructors": ["teach"],
        "assignments": [{"id": "hw1", "title": {"ja": "宿題1"}, "due": "2025-06-30 17:00"}],
    },
    "test",
)
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def test_course_enrolments_and_status_at_each_step(tmp_path):
    url = f"sqlite:///{tmp_path}/records.sqlite"
    ensure_records_schema(url)
    with session_scope(url) as session:
        assert record_course(session, COURSE, ["hw1"]) is True
    with session_scope(url) as session:
        assert record_course(session, COURSE, ["hw1"]) is False  # a re-sync changes nothing
        changes = record_enrolments(
            session, "kiso", {"learner": {"ann", "bob"}, "instructor": {"teach"}}
        )
        assert sorted(changes["added"]) == ["instructor:teach", "learner:ann", "learner:bob"]
    with session_scope(url) as session:
        changes = record_enrolments(session, "kiso", {"learner": {"ann"}, "instructor": {"teach"}})
        assert changes == {"added": [], "removed": ["learner:bob"]}

    steps = [
        (mark_fetched, (NOW,), "fetched"),
        (mark_submitted, (NOW, True), "submitted"),
        (mark_graded, (2.0, 4.0, NOW), "graded"),
        (mark_feedback, (NOW,), "feedback"),
    ]
    for mark, args, expected in steps:
        with session_scope(url) as session:
            mark(session, "kiso", "hw1", "ann", *args)
        with session_scope(url) as session:
            view = course_view(session, "kiso")
            row = view.assignments[0].progress["ann"]
            assert row.status == expected
    assert (row.score, row.max_score, row.late, row.attempts) == (2.0, 4.0, True, 1)
    assert view.learners == ["ann"] and view.staff == {"teach": "instructor"}
    assert view.assignments[0].due == datetime(2025, 6, 30, 8, 0)  # stored in UTC
