"""Every check and hint, in the records database (migration branch "checks")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Engine, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sunaba.records.models import Base, utcnow


class CheckEvent(Base):
    """One call of `check` or `hint`: who, where, when and what came out.

    `result` is "pass" or "fail" for a judged check, "refused" for an answer that could not be
    judged (malformed, unknown question), "hint" for a hint.
    """

    __tablename__ = "check_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    course: Mapped[str] = mapped_column(String(64))
    assignment: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(16))
    hint_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def record_event(engine: Engine, **fields) -> None:
    with Session(engine) as session, session.begin():
        session.add(CheckEvent(**fields))


def hints_given(engine: Engine, login: str, course: str, assignment: str, question: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(
            CheckEvent.login == login,
            CheckEvent.course == course,
            CheckEvent.assignment == assignment,
            CheckEvent.question == question,
            CheckEvent.kind == "hint",
        )
        return int(session.scalar(query) or 0)
