"""Grade export for instructors: CSV in UTF-8 with BOM (Excel opens it without garbling) and
.xlsx, one row per learner who is or was in the course."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from sunaba.config.schema import SiteConfig
from sunaba.courses.model import Assignment, Course
from sunaba.courses.records import Enrolment, Progress
from sunaba.exchange.jadate import format_ja
from sunaba.records.db import default_records_url, session_scope
from sunaba.records.models import Person

HEADER = (
    "ユーザー名",
    "氏名",
    "所属",
    "得点",
    "満点",
    "提出日時",
    "締切後の提出",
    "手動採点待ち",
    "受講状況",
)


@dataclass(frozen=True)
class GradeRow:
    login: str
    name: str
    department: str
    score: float | None
    max_score: float | None
    submitted: str
    late: bool
    needs_manual_grade: bool
    enrolled: bool

    def cells(self) -> list:
        return [
            self.login,
            self.name,
            self.department,
            "" if self.score is None else self.score,
            "" if self.max_score is None else self.max_score,
            self.submitted,
            "はい" if self.late else "",
            "はい" if self.needs_manual_grade else "",
            "受講中" if self.enrolled else "登録解除",
        ]


def grade_rows(
    config: SiteConfig, course: Course, assignment: Assignment, scores: dict
) -> list[GradeRow]:
    """`scores` is the gradebook's view ({student: {...}}) for this assignment."""
    with session_scope(default_records_url(config)) as session:
        enrolments = {
            e.login: e.active
            for e in session.scalars(
                select(Enrolment).where(
                    Enrolment.course_id == course.id, Enrolment.role == "learner"
                )
            )
        }
        progress = {
            p.login: p
            for p in session.scalars(
                select(Progress).where(
                    Progress.course_id == course.id, Progress.assignment_id == assignment.id
                )
            )
        }
        logins = sorted(set(enrolments) | set(scores) | set(progress))
        people = {
            p.login: p for p in session.scalars(select(Person).where(Person.login.in_(logins)))
        }
        rows = []
        for login in logins:
            info = scores.get(login, {})
            row = progress.get(login)
            person = people.get(login)
            rows.append(
                GradeRow(
                    login=login,
                    name=person.display_name if person else "",
                    department=person.department if person else "",
                    score=info.get("score"),
                    max_score=info.get("max_score"),
                    submitted=format_ja(row.submitted_at) if row and row.submitted_at else "",
                    late=bool(info.get("late") or (row and row.late)),
                    needs_manual_grade=bool(info.get("needs_manual_grade")),
                    enrolled=enrolments.get(login, False),
                )
            )
        return rows


def to_csv(rows: list[GradeRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[GradeRow], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(row.cells())
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_export(rows: list[GradeRow], path: Path, title: str) -> Path:
    data = to_xlsx(rows, title) if path.suffix.lower() == ".xlsx" else to_csv(rows)
    path.write_bytes(data)
    return path
