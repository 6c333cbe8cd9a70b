"""Writing and reading course progress in the records database.

Each `mark_*` works inside the caller's session (flushed, not committed) so that the exchange,
the sync and the grading commands decide their own transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.courses.model import Course
from sunaba.courses.records import CourseAssignment, CourseRecord, Enrolment, Progress


def record_course(session: Session, course: Course, released: Iterable[str]) -> bool:
    """Upsert the course and its assignments; True if anything changed."""
    released = set(released)
    changed = False
    row = session.get(CourseRecord, course.id)
    values = {
        "title": course.title.ja,
        "title_en": course.title.en,
        "description": course.description.ja if course.description else "",
        "active": True,
    }
    if row is None:
        session.add(CourseRecord(course_id=course.id, **values))
        changed = True
    else:
        changed |= _update(row, values)
    existing = {
        a.assignment_id: a
        for a in session.scalars(
            select(CourseAssignment).where(CourseAssignment.course_id == course.id)
        )
    }
    for position, assignment in enumerate(course.assignments):
        values = {
            "title": assignment.title.ja,
            "position": position,
            "opens": _utc(assignment.opens),
            "due": _utc(assignment.due),
            "points": assignment.points,
            "late_policy": assignment.late.value,
            "released": assignment.id in released,
        }
        found = existing.pop(assignment.id, None)
        if found is None:
            session.add(
                CourseAssignment(course_id=course.id, assignment_id=assignment.id, **values)
            )
            changed = True
        else:
            changed |= _update(found, values)
    for gone in existing.values():  # dropped from course.yaml: progress rows stay
        changed |= _update(gone, {"released": False})
    session.flush()
    return changed


def retire_course_record(session: Session, course_id: str) -> dict[str, list[str]]:
    """The course is no longer active and nobody is enrolled any more; rows stay (scores,
    progress) for reports. Returns the enrolments ended, as `record_enrolments` does."""
    row = session.get(CourseRecord, course_id)
    if row is not None:
        row.active = False
    return record_enrolments(session, course_id, {})


def _utc(moment: datetime | None) -> datetime | None:
    # Stored in UTC: SQLite keeps no zone, and must read back the same instant.
    return moment.astimezone(UTC) if moment else None


def _same(old, new) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime) and old.tzinfo is None:
        old = old.replace(tzinfo=UTC)  # SQLite returns naive UTC
    return old == new


def _update(row, values: Mapping) -> bool:
    changed = False
    for key, value in values.items():
        if not _same(getattr(row, key), value):
            setattr(row, key, value)
            changed = True
    return changed


def record_enrolments(
    session: Session, course_id: str, members: Mapping[str, Iterable[str]]
) -> dict[str, list[str]]:
    """Make the active enrolments of each role exactly `members[role]`; rows of people who left
    stay, inactive. Returns {"added": [...], "removed": [...]} as "role:login"."""
    rows = {
        (e.role, e.login): e
        for e in session.scalars(select(Enrolment).where(Enrolment.course_id == course_id))
    }
    added: list[str] = []
    removed: list[str] = []
    wanted = {(role, login) for role, logins in members.items() for login in logins}
    for role, login in sorted(wanted):
        row = rows.get((role, login))
        if row is None:
            session.add(Enrolment(course_id=course_id, login=login, role=role, active=True))
            added.append(f"{role}:{login}")
        elif not row.active:
            row.active = True
            added.append(f"{role}:{login}")
    for (role, login), row in sorted(rows.items()):
        if row.active and (role, login) not in wanted:
            row.active = False
            removed.append(f"{role}:{login}")
    session.flush()
    return {"added": added, "removed": removed}


def _progress(session: Session, course: str, assignment: str, login: str) -> Progress:
    row = session.get(Progress, (course, assignment, login))
    if row is None:
        row = Progress(
            course_id=course, assignment_id=assignment, login=login, status="fetched", attempts=0
        )
        session.add(row)
    return row


def mark_fetched(session: Session, course: str, assignment: str, login: str, when: datetime):
    row = _progress(session, course, assignment, login)
    if row.fetched_at is None:
        row.fetched_at = when
    session.flush()


def mark_submitted(
    session: Session, course: str, assignment: str, login: str, when: datetime, late: bool
):
    row = _progress(session, course, assignment, login)
    row.status = "submitted"
    row.submitted_at = when
    row.late = late
    row.attempts = (row.attempts or 0) + 1
    session.flush()


def mark_graded(
    session: Session,
    course: str,
    assignment: str,
    login: str,
    score: float,
    max_score: float,
    when: datetime,
):
    row = _progress(session, course, assignment, login)
    row.score = score
    row.max_score = max_score
    row.graded_at = when
    if row.status in ("fetched", "submitted"):
        row.status = "graded"
    session.flush()


def mark_feedback(session: Session, course: str, assignment: str, login: str, when: datetime):
    row = _progress(session, course, assignment, login)
    row.status = "feedback"
    row.feedback_at = when
    session.flush()


# ----------------------------------------------------------------------------------------------
# Reading, for the pages


@dataclass
class AssignmentView:
    assignment_id: str
    title: str
    opens: datetime | None
    due: datetime | None
    points: float | None
    late_policy: str
    released: bool
    progress: dict[str, Progress] = field(default_factory=dict)  # login -> row


@dataclass
class CourseView:
    course_id: str
    title: str
    description: str
    assignments: list[AssignmentView]
    learners: list[str]
    staff: dict[str, str]  # login -> role


def course_view(session: Session, course_id: str, logins: Iterable[str] | None = None):
    """The course with progress rows for `logins` (None: every active learner)."""
    course = session.get(CourseRecord, course_id)
    if course is None:
        return None
    enrolments = list(
        session.scalars(select(Enrolment).where(Enrolment.course_id == course_id, Enrolment.active))
    )
    learners = sorted({e.login for e in enrolments if e.role == "learner"})
    staff = {e.login: e.role for e in enrolments if e.role != "learner"}
    wanted = learners if logins is None else list(logins)
    rows = session.scalars(
        select(Progress).where(Progress.course_id == course_id, Progress.login.in_(wanted))
    )
    by_assignment: dict[str, dict[str, Progress]] = {}
    for row in rows:
        by_assignment.setdefault(row.assignment_id, {})[row.login] = row
    assignments = [
        AssignmentView(
            assignment_id=a.assignment_id,
            title=a.title,
            opens=a.opens,
            due=a.due,
            points=a.points,
            late_policy=a.late_policy,
            released=a.released,
            progress=by_assignment.get(a.assignment_id, {}),
        )
        for a in session.scalars(
            select(CourseAssignment)
            .where(CourseAssignment.course_id == course_id)
            .order_by(CourseAssignment.position)
        )
    ]
    return CourseView(course_id, course.title, course.description, assignments, learners, staff)


def progress_of(session: Session, course: str, assignment: str, login: str) -> Progress | None:
    return session.get(Progress, (course, assignment, login))
