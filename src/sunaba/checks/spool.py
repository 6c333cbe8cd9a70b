"""Check and hint events the records database could not take right away.

A class goes on while the records database restarts: `check` and `hint` still answer, and each
event that could not be written is appended to a file in the state directory (one JSON line,
flushed to disk before the learner gets the answer). The service writes the file's events when
the database answers again and removes them from the file only once they are stored. Every event
carries the id it was given when it happened, so one that reached the database just before the
connection broke is not stored a second time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from sunaba.checks.records import write_events

log = logging.getLogger("sunaba.checks")


class EventSpool:
    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()

    def append(self, event: dict) -> None:
        with self.lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write(self.path, [event], "a")

    def pending(self) -> list[dict]:
        with self.lock:
            return self._read()

    def _read(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        events = []
        for number, line in enumerate(lines, 1):
            try:
                event = json.loads(line)
                event["created_at"] = datetime.fromisoformat(event["created_at"])
            except (ValueError, KeyError, TypeError):
                # A line cut short by a crash mid-append: the rest of the file is still good.
                log.warning("records spool %s: line %d is unreadable, skipped", self.path, number)
                continue
            events.append(event)
        return events

    def hints(self, login: str, course: str, assignment: str, question: str) -> int:
        """Hints given to this learner for this question that wait in the spool."""
        where = (login, course, assignment, question)
        places = [
            (e["login"], e["course"], e["assignment"], e["question"])
            for e in self.pending()
            if e["kind"] == "hint"
        ]
        return places.count(where)

    def drain(self, engine: Engine) -> int:
        """Write what waits; how many events were stored. Raises while the database is down
        (the events stay in the file)."""
        events = self.pending()
        if not events:
            return 0
        stored = write_events(engine, events)
        done = {event["event_id"] for event in events}
        with self.lock:  # events appended meanwhile stay
            left = [e for e in self._read() if e["event_id"] not in done]
            temporary = self.path.with_suffix(".tmp")
            _write(temporary, left, "w")
            os.replace(temporary, self.path)
        log.info(
            "records: %d waiting check events written (%d were already stored)",
            len(events),
            len(events) - stored,
        )
        return stored


def _write(path: Path, events: list[dict], mode: str) -> None:
    """Events as JSON lines, on disk before returning."""
    with open(path, mode, encoding="utf-8") as spool:
        for event in events:
            spool.write(json.dumps({**event, "created_at": event["created_at"].isoformat()}) + "\n")
        spool.flush()
        os.fsync(spool.fileno())
