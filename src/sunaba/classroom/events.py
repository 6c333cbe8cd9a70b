"""What the exchange service writes beside its files: progress in the records database, and the
hub groups planned by the last course sync."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sunaba.config.schema import SiteConfig
from sunaba.courses import progress
from sunaba.courses.groups import groups_file, read_plans, reconcile_groups
from sunaba.courses.records import CourseAssignment
from sunaba.records.db import default_records_url, ensure_records_schema, make_engine

log = logging.getLogger("sunaba.exchange")


class RecordsEvents:
    def __init__(self, config: SiteConfig, url: str):
        self.config = config
        self.url = url
        ensure_records_schema(url)
        self.engine = make_engine(url)

    @classmethod
    def from_config(cls, config: SiteConfig) -> RecordsEvents:
        return cls(config, default_records_url(config))

    def session(self) -> Session:
        return Session(bind=self.engine, expire_on_commit=False)

    def _write(self, fn, *args) -> None:
        with self.session() as session, session.begin():
            fn(session, *args)

    def fetched(self, course: str, assignment: str, login: str) -> None:
        self._write(progress.mark_fetched, course, assignment, login, datetime.now(UTC))

    def submitted(self, course, assignment, login, when, late) -> None:
        self._write(progress.mark_submitted, course, assignment, login, when, late)

    def feedback(self, course: str, assignment: str, login: str) -> None:
        self._write(progress.mark_feedback, course, assignment, login, datetime.now(UTC))

    def released(self, course: str, assignment: str, released: bool) -> None:
        def apply(session: Session):
            row = session.get(CourseAssignment, (course, assignment))
            if row is not None:
                row.released = released

        self._write(apply)

    # -- hub groups ------------------------------------------------------------------------

    def reconcile_groups(self):
        # Only the service process talks to the hub; the hub process imports this module too.
        from sunaba.core.hubclient import HubClient

        plans = read_plans(groups_file(self.config))
        if not plans:
            return None
        client = HubClient(
            os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"], timeout=30
        )
        return reconcile_groups(client, plans)

    async def reconcile_groups_soon(self) -> None:
        """At start, once the hub answers: apply what the last sync planned."""
        loop = asyncio.get_running_loop()
        for attempt in range(30):
            try:
                changes = await loop.run_in_executor(None, self.reconcile_groups)
                if changes:
                    log.info("hub groups reconciled: %s", changes)
                return
            except Exception as exc:  # the hub may still be starting
                log.debug("group reconcile attempt %d: %s", attempt, exc)
                await asyncio.sleep(2)
        log.error("could not reconcile hub groups with the course files")
