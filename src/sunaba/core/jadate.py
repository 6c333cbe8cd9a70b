"""Dates as Japanese staff read them: 2025年6月30日（月）17:00, in Japan time.

Standard library only: also used inside learners' servers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")
WEEKDAYS = "月火水木金土日"


def format_ja(moment: datetime | None, *, with_time: bool = True) -> str:
    if moment is None:
        return "なし"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(JST)
    text = f"{local.year}年{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}）"
    if with_time:
        text += f" {local.hour}:{local.minute:02d}"
    return text
