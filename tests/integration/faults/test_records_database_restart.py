"""Drill: the records database (a real PostgreSQL server, the test's own) goes down and comes
back while a class checks its answers. Every `check` and `hint` still answers; each of their
records is stored exactly once when the database is back, none lost and none twice."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.checks.grader import GraderDirectory
from sunaba.checks.records import CheckEvent, new_event
from sunaba.checks.service import Checks
from sunaba.config.loader import validate
from sunaba.records.db import ensure_records_schema
from tests.support.pg_cluster import private_postgres

LEARNERS, CALLS = 12, 30


def test_check_records_survive_a_database_restart(tmp_path):
    with private_postgres() as database:
        ensure_records_schema(database.url)
        config = validate(
            {
                "hub": {"state_dir": str(tmp_path / "state"), "prefix": str(tmp_path / "p")},
                "records": {"db_url": database.url},
            },
            "test",
        )
        checks = Checks(config, GraderDirectory(tmp_path / "graders"), database.url)
        sent: list[str] = []
        levels_while_down: list[int] = []

        async def learner(number: int) -> None:
            where = {"course": "c1", "assignment": "a1", "question": f"q{number % 3}"}
            for call in range(CALLS):
                kind = "hint" if call % 5 == 0 else "check"
                event = new_event(login=f"l{number}", kind=kind, result=kind, **where)
                sent.append(event["event_id"])
                await checks.record(event)
                await asyncio.sleep(0.05)

        async def outage() -> None:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(0.4)
            await loop.run_in_executor(None, database.stop, "immediate")  # as a crash would
            await asyncio.sleep(0.3)
            levels_while_down.append(await checks.hints_given("l0", "c1", "a1", "q0"))
            await asyncio.sleep(0.5)
            await loop.run_in_executor(None, database.start)

        async def class_during_outage() -> None:
            await asyncio.gather(*(learner(n) for n in range(LEARNERS)), outage())

        asyncio.run(class_during_outage())
        kept = len(checks.spool.pending())
        assert kept > 0, "the outage did not overlap the writes"
        assert levels_while_down and levels_while_down[0] >= 1  # hints kept count too

        started = time.monotonic()
        while checks.spool.pending() and time.monotonic() - started < 60:
            asyncio.run(checks.write_pending())
        print(f"kept while down: {kept}; written {time.monotonic() - started:.2f} s after")
        assert checks.spool.pending() == []
        with Session(checks.engine) as session:
            stored = list(session.scalars(select(CheckEvent.event_id)))
        assert len(stored) == len(sent) == LEARNERS * CALLS
        assert sorted(stored) == sorted(sent)  # none lost, none twice
        checks.engine.dispose()
