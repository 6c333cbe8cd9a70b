"""Every check and hint, in the records database (migration branch "checks")."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Engine, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sunaba.records.models import Base, utcnow


class CheckEvent(Base):
    """One call of `check` or `hint`: who, where, when and what came out.

    `result` is "pass" or "fail" for a judged check, "refused" for an answer that could not be
    judged (malformed, unknown question), "hint" for a hint. `event_id` is given when the event
    happens, so a write repeated after a broken connection never stores it twice (revision
    checks_0002; rows from before it have none).
    """

    __tablename__ = "check_events"
    __table_args__ = (Index("ux_check_events_event_id", "event_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    course: Mapped[str] = mapped_column(String(64))
    assignment: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(16))
    hint_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    event_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


def new_event(**fields) -> dict:
    """The columns of one event as it happens, with its own id and time."""
    return {"event_id": uuid.uuid4().hex, "created_at": utcnow(), **fields}


def record_event(engine: Engine, **fields) -> None:
    write_events(engine, [new_event(**fields)])


def write_events(engine: Engine, events: list[dict]) -> int:
    """Store the events the table does not hold yet (by `event_id`); how many were new."""
    ids = [event["event_id"] for event in events]
    with Session(engine) as session, session.begin():
        known = set(
            session.scalars(select(CheckEvent.event_id).where(CheckEvent.event_id.in_(ids)))
        )
        new = [event for event in events if event["event_id"] not in known]
        session.add_all(CheckEvent(**event) for event in new)
    return len(new)


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
