"""Japanese era dates (和暦): 明治 to 令和, 元年, 年度 and 午前/午後 times.

`parse_wareki` reads what municipal files really contain:

- 令和元年5月1日, 平成31年4月30日, R6.1.11, H31/4/30, 令和六年一月十一日, ㋿6年1月11日
- with a time: 令和6年1月11日午後6時, 令和6年8月31日午後1時30分, 令和6年6月20日正午, R6.1.11 18:00
- a fiscal year: 令和4年度 → FiscalYear(2022), from 2022-04-01 to 2023-03-31
- a year or a month: 令和4年 → 2022, 令和6年1月 → date(2024, 1, 1)
- Western dates written the same way (2024年1月11日) are accepted too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time

import pandas as pd

from sunaba.datasets.errors import WarekiError


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: date
    end: date | None  # last day, None for the current era

    @property
    def offset(self) -> int:
        return self.start.year - 1


# Newest first. 明治 starts on 1868-01-25 (明治元年1月1日, counted from the start of that year);
# dates before 明治6年 used the lunisolar calendar and are read as if Gregorian.
ERAS = (
    Era("令和", "R", date(2019, 5, 1), None),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    Era("明治", "M", date(1868, 1, 25), date(1912, 7, 29)),
)
_BY_NAME = {era.name: era for era in ERAS} | {era.letter: era for era in ERAS}

GANNEN = "元"  # the first year of an era: 令和元年
EXAMPLES = "例: 令和6年1月11日、R6.1.11、令和6年1月11日午後6時、令和4年度"


@dataclass(frozen=True, order=True)
class FiscalYear:
    """A Japanese fiscal year (年度): April 1 to March 31 of the next year."""

    year: int

    @property
    def start(self) -> date:
        return date(self.year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.year + 1, 3, 31)

    def __contains__(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        return self.start <= day <= self.end

    @classmethod
    def of(cls, day: date) -> FiscalYear:
        """The fiscal year a day falls in: 2024-03-31 is in 2023年度."""
        return cls(day.year if day.month >= 4 else day.year - 1)

    def __str__(self) -> str:
        return f"{self.year}年度"


_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_KANJI_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER = re.compile(r"[〇零一二三四五六七八九十]+")


def _kanji_to_int(text: str) -> int:
    if "十" not in text:
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    tens, _, ones = text.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        raise ValueError(text)
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def _replace_kanji_numbers(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        try:
            return str(_kanji_to_int(match.group()))
        except (ValueError, KeyError):
            return match.group()

    return _KANJI_NUMBER.sub(repl, text)


_ERA = r"(?P<era>令和|平成|昭和|大正|明治|[RHSTMrhstm]\.?)"
_WEST = r"(?P<west>\d{4})"
_YEAR = r"(?P<year>元|\d{1,3})"
_TIME = (
    r"(?:(?P<ampm>午前|午後|AM|PM|am|pm)?(?P<hour>\d{1,2})(?:時|:)(?:(?P<minute>\d{1,2})分?)?"
    r"(?::?(?P<second>\d{1,2})秒?)?|(?P<noon>正午))"
)
_WEEKDAY = r"(?:\([月火水木金土日](?:曜日?)?(?:・祝)?\))?"
_SUFFIX = r"(?:時点|現在|頃|ごろ)?"
_JA = re.compile(
    rf"^(?:{_ERA}{_YEAR}|{_WEST})年(?P<fiscal>度)?"
    rf"(?:(?P<month>\d{{1,2}})月(?:(?P<day>\d{{1,2}})日)?)?{_WEEKDAY}(?:{_TIME})?{_SUFFIX}$"
)
_DOTTED = re.compile(
    rf"^{_ERA}{_YEAR}[./-](?P<month>\d{{1,2}})[./-](?P<day>\d{{1,2}}){_WEEKDAY}"
    rf"(?:[ T]?{_TIME})?{_SUFFIX}$"
)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    # Spaces only matter between two digits ("R6.1.11 18:00"); elsewhere they are dropped.
    text = re.sub(r"(?<!\d)\s+|\s+(?!\d)", "", text)
    text = re.sub(r"\s+", " ", text)
    return _replace_kanji_numbers(text)


def _fail(text: str, why: str = "") -> WarekiError:
    if why:
        return WarekiError(f"和暦として読めません: 「{text}」（{why}）", value=text)
    return WarekiError(f"和暦として読めません: 「{text}」。{EXAMPLES}", value=text)


def _era_year(original: str, era_token: str, year_token: str) -> tuple[Era, int]:
    key = era_token.rstrip(".")
    era = _BY_NAME.get(key) or _BY_NAME[key.upper()]
    number = 1 if year_token == GANNEN else int(year_token)
    if number < 1:
        raise _fail(original, f"{era.name}0年はありません。1年目は「{era.name}元年」です")
    last = era.end.year - era.offset if era.end else None
    if last is not None and number > last:
        raise _fail(original, f"{era.name}は{last}年までです")
    return era, era.offset + number


def _time_of(original: str, match: re.Match[str]) -> time | None:
    if match.group("noon"):
        return time(12, 0)
    if match.group("hour") is None:
        return None
    hour = int(match.group("hour"))
    minute = int(match.group("minute") or 0)
    second = int(match.group("second") or 0)
    ampm = (match.group("ampm") or "").lower()
    if ampm:
        if hour == 12:
            raise _fail(
                original,
                "午前12時・午後12時はあいまいです。正午は「午後0時」か「正午」、"
                "真夜中は「午前0時」と書いてください",
            )
        if hour > 12:
            raise _fail(original, f"{match.group('ampm')}{hour}時はありません")
        if ampm in ("午後", "pm"):
            hour += 12
    if hour > 23 or minute > 59 or second > 59:
        raise _fail(original, "時刻が範囲外です")
    return time(hour, minute, second)


def parse_wareki(value):
    """Read a 和暦 (or Western) date, date-time, year or fiscal year.

    Returns `datetime.date` for a day (or a month: its first day), `datetime.datetime` when a
    time is given, `int` for a year (令和4年 → 2022) and `FiscalYear` for 年度 (令和4年度 →
    FiscalYear(2022)). Raises `WarekiError` with a Japanese message when the text does not
    parse or names a day that does not exist (平成31年5月1日: 平成 ended on 4月30日).

    A pandas Series is converted element by element (missing values stay missing); a Series of
    days or date-times comes back as datetime64.
    """
    if isinstance(value, pd.Series):
        return _parse_series(value)
    if not isinstance(value, str):
        raise TypeError(f"parse_wareki は文字列か pandas.Series を受け取ります（{type(value)}）")
    text = _clean(value)
    match = _JA.match(text) or _DOTTED.match(text)
    if not match:
        raise _fail(value)
    groups = match.groupdict()
    era = None
    if groups.get("west"):
        year = int(groups["west"])
    else:
        era, year = _era_year(value, groups["era"], groups["year"])
    if groups.get("fiscal"):
        if groups.get("month") or _time_of(value, match):
            raise _fail(value, "年度のあとに月日は書けません")
        return FiscalYear(year)
    if not groups.get("month"):
        if _time_of(value, match):
            raise _fail(value, "時刻には月日が必要です")
        return year
    month = int(groups["month"])
    day_number = int(groups["day"]) if groups.get("day") else None
    try:
        day = date(year, month, day_number or 1)
    except ValueError:
        raise _fail(value, f"{month}月{day_number}日はありません") from None
    if era is not None and day_number is not None:
        if day < era.start and era.name != "明治":
            raise _fail(
                value, f"{era.name}は{era.start.year}年{era.start.month}月{era.start.day}日からです"
            )
        if era.end is not None and day > era.end:
            raise _fail(value, f"{era.name}は{_format_day(era.end, era)}までです")
    clock = _time_of(value, match)
    if clock is None:
        return day
    if day_number is None:
        raise _fail(value, "時刻には日付が必要です")
    return datetime.combine(day, clock)


def _parse_series(series: pd.Series) -> pd.Series:
    def one(item):
        if item is None or (not isinstance(item, str) and pd.isna(item)) or item == "":
            return None
        return parse_wareki(item)

    result = series.map(one)
    values = [item for item in result if item is not None]
    if values and all(isinstance(item, date) for item in values):
        return pd.to_datetime(result)
    return result


def era_of(day: date) -> Era:
    """The era in force on a day."""
    if isinstance(day, datetime):
        day = day.date()
    for era in ERAS:
        if day >= era.start:
            return era
    raise WarekiError(f"{day.isoformat()} は明治より前です（和暦に変換できません）", value=day)


def _year_text(number: int, gannen: bool) -> str:
    return "元" if number == 1 and gannen else str(number)


def _format_day(day: date, era: Era, gannen: bool = True) -> str:
    number = day.year - era.offset
    return f"{era.name}{_year_text(number, gannen)}年{day.month}月{day.day}日"


def to_wareki(value, *, gannen: bool = True) -> str:
    """Write a date, date-time, year (int) or FiscalYear in 和暦: the inverse of parse_wareki.

    date(2019, 5, 1) → 令和元年5月1日; datetime(2024, 1, 11, 18) → 令和6年1月11日午後6時;
    FiscalYear(2022) → 令和4年度; 2019 → 令和元年 (a year that spans two eras takes the era in
    force at its end). `gannen=False` writes 令和1年 instead of 令和元年.
    """
    if isinstance(value, FiscalYear):
        # 令和元年度 (FY2019) takes the era in force at its end; 昭和63年度 (FY1988) would be
        # 平成0年度 that way, so it keeps the era of its start.
        era = era_of(value.end)
        if value.year - era.offset < 1:
            era = era_of(value.start)
        return f"{era.name}{_year_text(value.year - era.offset, gannen)}年度"
    if isinstance(value, bool):
        raise TypeError("to_wareki は日付・年・年度を受け取ります")
    if isinstance(value, int):
        era = era_of(date(value, 12, 31))
        return f"{era.name}{_year_text(value - era.offset, gannen)}年"
    if isinstance(value, datetime):
        text = _format_day(value.date(), era_of(value), gannen)
        ampm, hour = ("午後", value.hour - 12) if value.hour >= 12 else ("午前", value.hour)
        text += f"{ampm}{hour}時"
        if value.minute or value.second:
            text += f"{value.minute}分"
        if value.second:
            text += f"{value.second}秒"
        return text
    if isinstance(value, date):
        return _format_day(value, era_of(value), gannen)
    raise TypeError(f"to_wareki は日付・年・年度を受け取ります（{type(value)}）")


def parse_clock(value: str) -> time:
    """Read a time of day: 9:00, 09:00:00, 0900, 午前9時, 午後5時30分, 正午, 17時15分."""
    text = _clean(value)
    if re.fullmatch(r"\d{3,4}", text):
        text = f"{text[:-2]}:{text[-2:]}"
    match = re.fullmatch(_TIME + r"(?:まで|から|~)?", text)
    if not match:
        raise WarekiError(
            f"時刻として読めません: 「{value}」（例: 9:00、17:30、午後5時30分）", value=value
        )
    clock = _time_of(value, match)
    if clock is None:  # pragma: no cover - the pattern always captures an hour or 正午
        raise WarekiError(f"時刻として読めません: 「{value}」", value=value)
    return clock


__all__ = [
    "ERAS",
    "Era",
    "FiscalYear",
    "era_of",
    "parse_clock",
    "parse_wareki",
    "to_wareki",
]
