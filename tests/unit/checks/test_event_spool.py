"""Events kept while the records database is down: written once it answers, never twice, and a
line cut short by a crash costs only that line."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.checks.records import CheckEvent, new_event, write_events
from sunaba.checks.spool import EventSpool
from sunaba.records.db import ensure_records_schema, make_engine

WHERE = {"course": "c1", "assignment": "a1", "question": "q1"}


def _engine(tmp_path):
    url = f"sqlite:///{tmp_path}/records.sqlite"
    ensure_records_schema(url)
    return make_engine(url)


def _stored(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(select(CheckEvent.event_id)))


def test_kept_events_are_written_once_including_one_that_had_reached_the_database(tmp_path):
    engine = _engine(tmp_path)
    spool = EventSpool(tmp_path / "checks" / "pending-events.jsonl")
    events = [new_event(login="ann", kind="check", result="fail", **WHERE) for _ in range(3)]
    # The first reached the database before the connection broke; it was kept all the same.
    write_events(engine, events[:1])
    for event in events:
        spool.append(event)
    assert spool.drain(engine) == 2
    assert _stored(engine) == sorted(e["event_id"] for e in events)
    assert spool.pending() == []
    assert spool.drain(engine) == 0
    with Session(engine) as session:
        first = session.scalar(
            select(CheckEvent).where(CheckEvent.event_id == events[0]["event_id"])
        )
    assert first.created_at.replace(tzinfo=None) == events[0]["created_at"].replace(tzinfo=None)


def test_a_torn_last_line_is_skipped_and_the_rest_written(tmp_path):
    engine = _engine(tmp_path)
    spool = EventSpool(tmp_path / "pending.jsonl")
    kept = new_event(login="ann", kind="hint", result="hint", hint_level=1, **WHERE)
    spool.append(kept)
    with open(spool.path, "a", encoding="utf-8") as torn:
        torn.write('{"event_id": "abc", "login": "bo')
    assert [e["event_id"] for e in spool.pending()] == [kept["event_id"]]
    assert spool.drain(engine) == 1
    assert _stored(engine) == [kept["event_id"]]


def test_waiting_hints_count_for_the_next_hint_level(tmp_path):
    spool = EventSpool(tmp_path / "pending.jsonl")
    for login, question in (("ann", "q1"), ("ann", "q1"), ("ann", "q2"), ("bob", "q1")):
        where = {**WHERE, "question": question}
        spool.append(new_event(login=login, kind="hint", result="hint", hint_level=1, **where))
    spool.append(new_event(login="ann", kind="check", result="fail", **WHERE))
    assert spool.hints("ann", "c1", "a1", "q1") == 2
    assert spool.hints("bob", "c1", "a1", "q1") == 1
    assert spool.hints("ann", "c1", "a1", "q3") == 0
