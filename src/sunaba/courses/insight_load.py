"""Reading what the dashboard needs from the records database in one small set of queries:
the course, its assignments, active learners and their names, progress rows, the per-question
scores synced from the gradebooks, and one assignment's check records aggregated in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import and_, case, func, select
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
    for one assignment, aggregated in the database. Attempts count every check up to and
    including the first pass; hints_before is the highest hint level seen before it."""
    e = CheckEvent
    where = (e.course == course_id, e.assignment == assignment)
    first = (
        select(
            e.login,
            e.question,
            func.min(case((and_(e.kind == "check", e.result == "pass"), e.id))).label("first_pass"),
            func.min(case((e.kind == "check", e.id))).label("first_check"),
            func.max(e.hint_level).label("max_hint"),
        )
        .where(*where)
        .group_by(e.login, e.question)
        .subquery()
    )
    found = {
        (r.login, r.question): [r.first_pass, r.first_check, r.max_hint or 0, 0, 0]
        for r in session.execute(select(first))
    }
    upto = session.execute(
        select(
            e.login,
            e.question,
            func.count(case((e.kind == "check", 1))),
            func.max(e.hint_level),
        )
        .join(first, and_(first.c.login == e.login, first.c.question == e.question))
        .where(*where, first.c.first_pass.is_not(None), e.id <= first.c.first_pass)
        .group_by(e.login, e.question)
    )
    for login, question, attempts, hints in upto:
        found[(login, question)][3:] = [int(attempts), int(hints or 0)]
    return {key: tuple(value) for key, value in found.items()}
