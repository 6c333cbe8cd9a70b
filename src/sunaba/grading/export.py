"""Grade export for instructors: CSV in UTF-8 with BOM (Excel opens it without garbling) and
.xlsx, one row per learner who is or was in the course."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from sunaba.config.schema import SiteConfig
from sunaba.core.jadate import format_ja
from sunaba.courses.insight_records import QuestionScore
from sunaba.courses.model import Assignment, Course
from sunaba.courses.records import CourseAssignment, CourseRecord, Enrolment, Progress
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


# ----------------------------------------------------------------------------------------------
# Detailed export (the course dashboard's download and `sunaba grade export --detail`): one row
# per learner with totals, every assignment, notebook and question, from the records database.

SOURCE_HEADER = ("データセット", "名前", "提供者", "出典の表記", "ライセンス", "公開元")


@dataclass
class DetailExport:
    title: str
    header: list[str]
    rows: list[list]
    sources: list[list[str]]


def _columns(scores, assignment: str) -> tuple[list[str], list[str]]:
    """The notebooks and questions of an assignment, in notebook order."""
    notebooks: dict[str, None] = {}
    questions: dict[str, int] = {}
    for row in scores:
        if row.assignment_id == assignment:
            notebooks.setdefault(row.notebook, None)
            questions[row.question] = min(row.position, questions.get(row.question, row.position))
    return sorted(notebooks), sorted(questions, key=lambda q: questions[q])


def _sum(values) -> float | str:
    found = [v for v in values if v is not None]
    return sum(found) if found else ""


def detail_export(
    session, course_id: str, datasets: list[str], catalogue=None, only: str | None = None
) -> DetailExport | None:
    """Everything the course's records say, per learner; None for an unknown course."""
    course = session.get(CourseRecord, course_id)
    if course is None:
        return None
    assignments = [
        a
        for a in session.scalars(
            select(CourseAssignment)
            .where(CourseAssignment.course_id == course_id)
            .order_by(CourseAssignment.position)
        )
        if only is None or a.assignment_id == only
    ]
    enrolled = {
        e.login: e.active
        for e in session.scalars(
            select(Enrolment).where(Enrolment.course_id == course_id, Enrolment.role == "learner")
        )
    }
    progress = {
        (p.assignment_id, p.login): p
        for p in session.scalars(select(Progress).where(Progress.course_id == course_id))
    }
    scores = list(
        session.scalars(select(QuestionScore).where(QuestionScore.course_id == course_id))
    )
    logins = sorted(set(enrolled) | {login for _a, login in progress})
    people = {p.login: p for p in session.scalars(select(Person).where(Person.login.in_(logins)))}
    header = ["ユーザー名", "氏名", "所属", "受講状況", "合計得点", "合計満点"]
    layout = []
    for a in assignments:
        notebooks, questions = _columns(scores, a.assignment_id)
        layout.append((a, notebooks, questions))
        header += [f"{a.title} 得点", f"{a.title} 満点", f"{a.title} 提出日時",
                   f"{a.title} 締切後の提出", f"{a.title} 手動採点待ち"]  # fmt: skip
        header += [f"{a.title} / {nb}" for nb in notebooks]
        header += [f"{a.title} / {q}" for q in questions]
    by_learner: dict[tuple[str, str], list] = {}
    for row in scores:
        by_learner.setdefault((row.assignment_id, row.login), []).append(row)
    rows = [
        _detail_row(login, people.get(login), enrolled.get(login, False), layout, progress,
                    by_learner)
        for login in logins
    ]  # fmt: skip
    return DetailExport(course.title, header, rows, dataset_sources(datasets, catalogue))


def _detail_row(login, person, enrolled, layout, progress, by_learner) -> list:
    cells: list = []
    totals, tops = [], []
    for a, notebooks, questions in layout:
        row = progress.get((a.assignment_id, login))
        items = by_learner.get((a.assignment_id, login), [])
        waiting = [i.question for i in items if i.needs_manual_grade]
        score = row.score if row else None
        totals.append(score)
        tops.append(a.points)
        cells += [
            "" if score is None else score,
            "" if a.points is None else a.points,
            format_ja(row.submitted_at) if row and row.submitted_at else "",
            "はい" if row and row.late and row.submitted_at else "",
            "はい（" + "、".join(waiting) + "）" if waiting else "",
        ]
        cells += [_sum(i.score for i in items if i.notebook == nb) for nb in notebooks]
        cells += [
            "" if any(i.needs_manual_grade for i in items if i.question == q)
            else _sum(i.score for i in items if i.question == q)
            for q in questions
        ]  # fmt: skip
    return [
        login,
        person.display_name if person else "",
        person.department if person else "",
        "受講中" if enrolled else "登録解除",
        _sum(totals),
        _sum(tops),
        *cells,
    ]


def dataset_sources(names: list[str], catalogue=None) -> list[list[str]]:
    """One row per dataset the course uses, from its catalogue entry: the credit to show."""
    # sunaba.datasets imports pandas: only the detailed export names the datasets' sources.
    from sunaba.datasets.catalogue import Catalogue
    from sunaba.datasets.errors import DatasetError

    catalogue = catalogue or Catalogue()
    found = []
    for name in names:
        try:
            d = catalogue.get(name)
        except DatasetError:
            found.append([name, "", "", "（カタログに見つかりません）", "", ""])
            continue
        link = d.homepage or next((str(s.get("path", "")) for s in d.sources if s.get("path")), "")
        found.append([name, d.title, d.publisher, d.attribution, d.license_label, link])
    return found


def detail_csv(export: DetailExport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.header)
    writer.writerows(export.rows)
    if export.sources:
        writer.writerow([])
        writer.writerow(["データの出典"])
        writer.writerow(SOURCE_HEADER)
        writer.writerows(export.sources)
    return buffer.getvalue().encode("utf-8-sig")


def detail_xlsx(export: DetailExport) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "成績"
    sheet.append(export.header)
    for row in export.rows:
        sheet.append(row)
    sheet.freeze_panes = "B2"
    sources = book.create_sheet("データの出典")
    sources.append(list(SOURCE_HEADER))
    for row in export.sources:
        sources.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
