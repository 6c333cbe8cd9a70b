"""Course tables of the records database (migration branch "courses").

They feed the learner's マイコース page and the instructor's course page: what courses exist,
who is enrolled, and where each learner stands on each assignment. The gradebooks stay the
source of truth for scores; `course_progress` keeps a copy synced after grading.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sunaba.records.models import Base, TimestampMixin

# Where a learner stands on an assignment, in order. No row means "not fetched".
STATUSES = ("fetched", "submitted", "graded", "feedback")


class CourseRecord(TimestampMixin, Base):
    __tablename__ = "courses"

    course_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CourseAssignment(TimestampMixin, Base):
    __tablename__ = "course_assignments"

    course_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("courses.course_id", ondelete="CASCADE"), primary_key=True
    )
    assignment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    opens: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    late_policy: Mapped[str] = mapped_column(String(16), default="accept")
    released: Mapped[bool] = mapped_column(Boolean, default=False)


class Enrolment(TimestampMixin, Base):
    """A person in a course. `active` false keeps the row (and their work) after removal."""

    __tablename__ = "course_enrolments"

    course_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("courses.course_id", ondelete="CASCADE"), primary_key=True
    )
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # learner|instructor|grader
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Progress(TimestampMixin, Base):
    __tablename__ = "course_progress"

    course_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("courses.course_id", ondelete="CASCADE"), primary_key=True
    )
    assignment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
