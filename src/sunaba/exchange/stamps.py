"""Names of submission attempts: a UTC time to the microsecond, as folder name and as the
timestamp.txt text nbgrader reads. Standard library and dateutil only (used in sandboxes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

STAMP = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
# nbgrader parses timestamp.txt with dateutil; this keeps microseconds and says UTC.
NBGRADER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"


def stamp_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def time_of(stamp: str) -> datetime:
    return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)


def nbgrader_time(stamp: str) -> str:
    return time_of(stamp).strftime(NBGRADER_TIME_FORMAT)


def stamp_from_nbgrader_time(text: str) -> str:
    from dateutil.parser import parse

    moment = parse(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return stamp_of(moment)
