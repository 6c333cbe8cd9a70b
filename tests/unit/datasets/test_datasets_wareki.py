from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sunaba.datasets import FiscalYear, WarekiError, parse_wareki, to_wareki
from sunaba.datasets.wareki import parse_clock


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("令和6年1月11日午後6時", datetime(2024, 1, 11, 18, 0)),
        ("令和6年8月31日午後1時30分", datetime(2024, 8, 31, 13, 30)),
        ("令和6年6月20日正午", datetime(2024, 6, 20, 12, 0)),
        ("令和6年1月13日午前6時", datetime(2024, 1, 13, 6, 0)),
        ("令和6年1月9日午後6時時点", datetime(2024, 1, 9, 18, 0)),
        ("令和6年1月11日午前0時", datetime(2024, 1, 11, 0, 0)),
        ("令和4年度", FiscalYear(2022)),
        ("平成31年度", FiscalYear(2019)),
        ("令和4年", 2022),
        ("令和6年1月", date(2024, 1, 1)),
        ("R6.1.11", date(2024, 1, 11)),
        ("H31/4/30", date(2019, 4, 30)),
        ("R6.1.11 18:00", datetime(2024, 1, 11, 18, 0)),
        ("令和六年一月十一日", date(2024, 1, 11)),
        ("令和６年１月１１日", date(2024, 1, 11)),
        ("㋿6年1月11日（木）", date(2024, 1, 11)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("大正15年12月24日", date(1926, 12, 24)),
        ("明治45年7月29日", date(1912, 7, 29)),
        ("2024年1月11日", date(2024, 1, 11)),
    ],
)
def test_real_world_strings(text, expected):
    assert parse_wareki(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("平成31年5月1日", "平成は平成31年4月30日まで"),
        ("令和元年4月30日", "令和は2019年5月1日から"),
        ("平成32年1月1日", "平成は31年まで"),
        ("令和0年1月1日", "令和元年"),
        ("令和6年2月30日", "2月30日はありません"),
        ("令和6年1月11日午後12時", "あいまい"),
        ("令和6年1月11日午後13時", "午後13時はありません"),
        ("令和4年度4月", "年度のあとに月日は書けません"),
        ("きのう", "例: 令和6年1月11日"),
        ("", "例:"),
    ],
)
def test_bad_strings_say_why(text, why):
    with pytest.raises(WarekiError) as info:
        parse_wareki(text)
    assert why in str(info.value)
    assert f"「{text}」" in str(info.value)


def test_error_renders_without_traceback_in_ipython():
    with pytest.raises(WarekiError) as info:
        parse_wareki("平成31年5月1日")
    lines = info.value._render_traceback_()
    assert len(lines) == 2 and "平成31年5月1日" in lines[1]
    assert "Traceback" not in "".join(lines)


def test_fiscal_year():
    fiscal = parse_wareki("令和4年度")
    assert (fiscal.start, fiscal.end) == (date(2022, 4, 1), date(2023, 3, 31))
    assert date(2023, 3, 31) in fiscal and date(2023, 4, 1) not in fiscal
    assert FiscalYear.of(date(2024, 3, 31)) == FiscalYear(2023)
    assert to_wareki(FiscalYear(2019)) == "令和元年度"
    assert to_wareki(FiscalYear(1988)) == "昭和63年度"


def test_to_wareki():
    assert to_wareki(date(2019, 5, 1)) == "令和元年5月1日"
    assert to_wareki(date(2019, 5, 1), gannen=False) == "令和1年5月1日"
    assert to_wareki(date(2019, 4, 30)) == "平成31年4月30日"
    assert to_wareki(datetime(2024, 1, 11, 18)) == "令和6年1月11日午後6時"
    assert to_wareki(datetime(2024, 8, 31, 13, 30)) == "令和6年8月31日午後1時30分"
    assert to_wareki(2019) == "令和元年"
    with pytest.raises(WarekiError):
        to_wareki(date(1800, 1, 1))


def test_series():
    result = parse_wareki(pd.Series(["令和6年1月11日午後6時", None, "令和6年1月13日午前6時"]))
    assert str(result.dtype).startswith("datetime64")
    assert result.iloc[0] == pd.Timestamp(2024, 1, 11, 18)
    assert pd.isna(result.iloc[1])


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("9:00", 9, 0),
        ("17:30", 17, 30),
        ("1700", 17, 0),
        ("午前9時", 9, 0),
        ("午後5時30分", 17, 30),
        ("正午", 12, 0),
        ("１７：１５", 17, 15),
    ],
)
def test_clock(text, hour, minute):
    clock = parse_clock(text)
    assert (clock.hour, clock.minute) == (hour, minute)


def test_clock_error():
    with pytest.raises(WarekiError, match="時刻として読めません"):
        parse_clock("夕方")


days = st.dates(min_value=date(1873, 1, 1), max_value=date(2200, 12, 31))


@given(days, st.booleans())
def test_round_trip_dates(day, gannen):
    assert parse_wareki(to_wareki(day, gannen=gannen)) == day


@given(st.datetimes(min_value=datetime(1873, 1, 1), max_value=datetime(2200, 12, 31)))
def test_round_trip_datetimes(moment):
    moment = moment.replace(microsecond=0)
    assert parse_wareki(to_wareki(moment)) == moment


@given(st.integers(min_value=1873, max_value=2200))
def test_round_trip_fiscal_years_and_years(year):
    assert parse_wareki(to_wareki(FiscalYear(year))) == FiscalYear(year)
    assert parse_wareki(to_wareki(year)) == year


@given(days)
def test_fullwidth_and_kanji_digits_parse_the_same(day):
    text = to_wareki(day)
    wide = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_wareki(wide) == day
