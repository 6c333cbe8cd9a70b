"""Per-question scores copied from the gradebooks (migration branch "insight").

One row per learner and graded cell of an assignment, written when scores are synced (autograde,
feedback, `sunaba grade export`). `question` is the instant-check id the cell's hidden tests
call (`assert_check("q1", ...)`), or the cell's grade id when it has none (a written answer).
The dashboard reads these rows instead of asking every formgrader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Boolean, Float, Index, Integer, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from sunaba.checks.records import CheckEvent
from sunaba.records.models import Base, TimestampMixin


class QuestionScore(TimestampMixin, Base):
    __tablename__ = "course_question_scores"

    course_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    notebook: Mapped[str] = mapped_column(String(200), primary_key=True)
    cell: Mapped[str] = mapped_column(String(200), primary_key=True)
    question: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)  # graded by hand
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    needs_manual_grade: Mapped[bool] = mapped_column(Boolean, default=False)


# The dashboard reads one assignment's check records at a time (revision insight_0002).
CHECKS_BY_ASSIGNMENT = Index(
    "ix_check_events_course_assignment",
    CheckEvent.course,
    CheckEvent.assignment,
    CheckEvent.login,
    CheckEvent.question,
)


def record_question_scores(
    session: Session,
    course: str,
    assignment: str,
    login: str,
    questions: Iterable[Mapping],
) -> None:
    """Replace the learner's question rows of an assignment by `questions` (dicts as the
    grading worker reports them: notebook, cell, question, manual, score, max_score,
    needs_manual_grade)."""
    session.execute(
        delete(QuestionScore).where(
            QuestionScore.course_id == course,
            QuestionScore.assignment_id == assignment,
            QuestionScore.login == login,
        )
    )
    for position, item in enumerate(questions):
        session.add(
            QuestionScore(
                course_id=course,
                assignment_id=assignment,
                login=login,
                notebook=str(item["notebook"])[:200],
                cell=str(item["cell"])[:200],
                question=str(item.get("question") or item["cell"])[:200],
                position=position,
                manual=bool(item.get("manual")),
                score=item.get("score"),
                max_score=float(item.get("max_score") or 0),
                needs_manual_grade=bool(item.get("needs_manual_grade")),
            )
        )
    session.flush()
