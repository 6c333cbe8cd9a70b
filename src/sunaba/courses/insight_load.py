"""Reading what the dashboard needs from the records database in one small set of queries:
the course, its assignments, active learners and their names, progress rows, the per-question
scores synced from the gradebooks, and one assignment's check records aggregated in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.checks.records import CheckEvent
from sunaba.courses.insight_records import QuestionScore
from sunaba.courses.records import CourseAssignment, CourseRecord, Enrolment, Progress
from sunaba.records.models import Person


class Prog(NamedTuple):
    """A learner's progress row, only what the dashboard reads (plain tuples: thousands)."""

    status: str
    submitted: bool  # has a submission (its time is not needed: no date parsing)
    late: bool
    score: float | None
    max_score: float | None


@dataclass
class Records:
    course: CourseRecord
    assignments: list[CourseAssignment]
    learners: list[str]
    names: dict[str, str]
    progress: dict[tuple[str, str], Prog]  # (assignment, login)
    pending: list[tuple[str, str, str]]  # (assignment, login, question) waiting for a grader
    scores: list[tuple] = field(default_factory=list)
    # of one assignment: (assignment, login, question, manual, score, max, needs_manual, pos)


def load_records(session: Session, course_id: str) -> Records | None:
    course = session.get(CourseRecord, course_id)
    if course is None:
        return None
    assignments = list(
        session.scalars(
            select(CourseAssignment)
            .where(CourseAssignment.course_id == course_id)
            .order_by(CourseAssignment.position)
        )
    )
    learners = sorted(
        session.scalars(
            select(Enrolment.login).where(
                Enrolment.course_id == course_id, Enrolment.active, Enrolment.role == "learner"
            )
        )
    )
    enrolled = set(learners)
    names = dict(
        session.execute(
            select(Person.login, Person.display_name)
            .join(Enrolment, Enrolment.login == Person.login)
            .where(Enrolment.course_id == course_id, Enrolment.role == "learner")
        ).all()
    )
    p = Progress
    progress = {
        (row[0], row[1]): Prog._make(row[2:])
        for row in session.execute(
            select(p.assignment_id, p.login, p.status, p.submitted_at.is_not(None), p.late, p.score,
                   p.max_score).where(p.course_id == course_id)
        )
        if row[1] in enrolled
    }  # fmt: skip
    q = QuestionScore
    pending = [
        (row.assignment_id, row.login, row.question)
        for row in session.execute(
            select(q.assignment_id, q.login, q.question)
            .where(q.course_id == course_id, q.needs_manual_grade)
            .order_by(q.position)
        )
        if row.login in enrolled
    ]
    return Records(course, assignments, learners, names, progress, pending)


def load_scores(session: Session, records: Records, assignment: str) -> None:
    """The question scores of one assignment into `records.scores`."""
    q = QuestionScore
    enrolled = set(records.learners)
    records.scores = [
        tuple(row)
        for row in session.execute(
            select(
                q.assignment_id, q.login, q.question, q.manual, q.score, q.max_score,
                q.needs_manual_grade, q.position,
            ).where(q.course_id == records.course.course_id, q.assignment_id == assignment)
        )
        if row[1] in enrolled
    ]  # fmt: skip


def check_summary(session: Session, course_id: str, assignment: str) -> dict:
    """{(login, question): (first_pass_id, first_check_id, max_hint, attempts, hints_before)}
    for one assignment. Attempts count every check up to and including the first pass;
    hints_before is the highest hint level seen before it. One indexed read of the
    assignment's events in the order they happened (a few per learner and question), folded
    here: the same on SQLite and PostgreSQL, whose planners disagree on a self-join."""
    e = CheckEvent
    rows = session.execute(
        select(e.id, e.login, e.question, e.kind, e.result, e.hint_level)
        .where(e.course == course_id, e.assignment == assignment)
        .order_by(e.id)
    )
    return fold_checks(rows)


def fold_checks(rows) -> dict[tuple[str, str], tuple]:
    """Fold check events `(id, who_or_what, question, kind, result, hint_level)`, in the order
    they happened, into {(who_or_what, question): (first_pass_id, first_check_id, max_hint,
    attempts, hints_before)}."""
    found: dict[tuple[str, str], list] = {}
    for event_id, owner, question, kind, result, level in rows:
        item = found.setdefault((owner, question), [None, None, 0, 0, 0])
        if kind == "hint":
            item[2] = max(item[2], level or 0)
            if item[0] is None:
                item[4] = max(item[4], level or 0)
            continue
        if item[1] is None:
            item[1] = event_id
        if item[0] is None:
            item[3] += 1
            if result == "pass":
                item[0] = event_id
    return {key: tuple(value) for key, value in found.items()}
