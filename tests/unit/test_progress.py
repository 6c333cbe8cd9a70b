"""Progress of long CLI work: one plain line per item off a terminal, one redrawn line on it."""

from __future__ import annotations

import io

from sunaba.progress import Progress, duration_ja


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_line_per_item_with_time_left_when_not_a_terminal():
    out, clock = io.StringIO(), Clock()
    with Progress(3, "採点", out, clock) as progress:
        for name, seconds in (("tanaka", 2.0), ("suzuki", 2.0), ("sato", 2.0)):
            progress.start(name)
            clock.now += seconds
            progress.done(name, "8 / 9 点")
    assert out.getvalue().splitlines() == [
        "採点 1/3 tanaka: 8 / 9 点（経過 2秒、残り約 4秒）",
        "採点 2/3 suzuki: 8 / 9 点（経過 4秒、残り約 2秒）",
        "採点 3/3 sato: 8 / 9 点（経過 6秒）",
    ]


def test_a_terminal_gets_one_redrawn_line_with_a_bar_and_the_current_item():
    out, clock = Terminal(), Clock()
    with Progress(4, "取得", out, clock) as progress:
        progress.start("population.csv")
        clock.now += 30
        progress.done("population.csv")
        progress.start("aed.csv")
    frames = out.getvalue().split("\r\x1b[2K")
    assert frames[-1].startswith("取得 ███████░") and "1/4  aed.csv  残り約 1分30秒" in frames[-1]
    assert out.getvalue().endswith("\n") and out.getvalue().count("\n") == 1


def test_durations_read_as_people_say_them():
    assert [duration_ja(s) for s in (0, 59.4, 60, 80, 3600, 3725)] == [
        "0秒",
        "59秒",
        "1分",
        "1分20秒",
        "1時間00分",
        "1時間02分",
    ]


def test_a_terminal_gets_nothing_when_there_was_nothing_to_do():
    out = Terminal()
    with Progress(0, "回収", out):
        pass
    assert out.getvalue() == ""
