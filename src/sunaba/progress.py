"""Progress of long CLI work, as a person at a terminal or a log file wants to see it.

On a terminal one line is redrawn: how many of how many, the current item and the time left.
Anywhere else (a pipe, a log, CI) each finished item is one plain line, so nothing is lost and
nothing needs a terminal to be read. Messages are Japanese, as every CLI message to people is.

    with Progress(len(names), "採点") as progress:
        for name in names:
            progress.start(name)
            grade(name)
            progress.done(name)
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def duration_ja(seconds: float) -> str:
    """`約 1分20秒`-style text of a duration (whole seconds, minutes past a minute)."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}秒"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}分{rest:02d}秒" if rest else f"{minutes}分"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}時間{minutes:02d}分"


class Progress:
    def __init__(
        self,
        total: int,
        action: str,
        stream: TextIO | None = None,
        clock=time.monotonic,
    ):
        self.total = total
        self.action = action
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.finished = 0
        self.started_at = clock()
        self.current = ""
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.interactive and (self.current or self.finished):  # a line was drawn: end it
            self.stream.write("\n")
            self.stream.flush()

    def remaining(self) -> float | None:
        """Seconds left at the pace so far (None before the first item is done)."""
        if not self.finished:
            return None
        per_item = (self.clock() - self.started_at) / self.finished
        return per_item * (self.total - self.finished)

    def start(self, item: str) -> None:
        with self._lock:
            self.current = item
            if self.interactive:
                self._redraw()

    def done(self, item: str, note: str = "") -> None:
        """One item finished; `note` (Japanese) says how it went, e.g. `8 / 9 点`."""
        with self._lock:
            self.finished += 1
            if self.interactive:
                self.current = item
                self._redraw()
                return
            left = self.remaining()
            tail = f"、残り約 {duration_ja(left)}" if left and self.finished < self.total else ""
            extra = f": {note}" if note else ""
            self.stream.write(
                f"{self.action} {self.finished}/{self.total} {item}{extra}"
                f"（経過 {duration_ja(self.clock() - self.started_at)}{tail}）\n"
            )
            self.stream.flush()

    def _redraw(self) -> None:
        left = self.remaining()
        eta = f"  残り約 {duration_ja(left)}" if left is not None else ""
        width = 30
        filled = width * self.finished // max(1, self.total)
        bar = "█" * filled + "░" * (width - filled)
        line = f"{self.action} {bar} {self.finished}/{self.total}  {self.current}{eta}"
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
