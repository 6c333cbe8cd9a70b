"""Checks of 課題3「和暦と日付」 (exercises/opendata-intro/wareki-dates).

Data: 高松市 美容所開設一覧 (2024-08-30), loaded as text (`raw=True`); the loader drops the
columns of private persons' names. What each check expects from the notebook:

    check("q1", [to_date(t) for t in ["S23.07.01", "H31.04.30", "R01.05.01", "R06.08.30",
                                      "確認年月日不明"]])
    check("q2", opened)       # 開設確認日 as dates, the placeholder as missing, every row kept
    check("q3", per_year)     # openings per calendar year, 2018 to 2023, in year order
    check("q4", answer)       # the multiple-choice letter on survivorship bias
"""

import contextlib
from datetime import date

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Tolerance, Verdict, judge
from sunaba.checks.wire import decode_answer, encode_answer
from sunaba.datasets import load, parse_wareki

INPUTS = ["S23.07.01", "H31.04.30", "R01.05.01", "R06.08.30", "確認年月日不明"]
UNKNOWN = "確認年月日不明"
COLUMN = "開設確認日"


def as_sent(value):
    """A value as the check service receives it from a learner's kernel."""
    return decode_answer(encode_answer(value))


def to_date(text):
    return None if text == UNKNOWN else parse_wareki(text)


def salons():
    return load("takamatsu-beauty-salons-wareki", raw=True)


def opened():
    return as_sent(parse_wareki(salons()[COLUMN].replace(UNKNOWN, None)))


def counted(series):
    return as_sent(series.dt.year.value_counts().sort_index())


def per_year():
    return counted(opened()).loc[2018:2023]


def _as_dates(answer):
    """A Series of datetime.date / None (what map(to_date) gives) as datetime64."""
    if isinstance(answer, pd.Series) and answer.dtype == object:
        values = [v for v in answer if v is not None and not pd.isna(v)]
        if values and all(isinstance(v, date) for v in values):
            with contextlib.suppress(Exception):
                return pd.to_datetime(answer)
    return answer


def judge_opened(answer) -> Verdict:
    return judge(_as_dates(answer), opened(), Tolerance())


def judge_per_year(answer) -> Verdict:
    if isinstance(answer, pd.Series):
        with contextlib.suppress(Exception):
            answer = answer.set_axis(answer.index.astype("int64"))
    return judge(answer, per_year(), Tolerance())


def _is_series_of_length(answer, length) -> bool:
    return isinstance(answer, pd.Series) and len(answer) == length


QUESTIONS = [
    Question(
        "q1",
        expected=lambda: [to_date(text) for text in INPUTS],
        hints=[
            "S は昭和、H は平成、R は令和です。元号ごとに、西暦にするために足す数が違います。"
            "parse_wareki はこの対応を知っています",
            "「確認年月日不明」は日付ではありません。parse_wareki に渡す前に if で分けて、"
            "None を返します",
            'return のあとに None if text == "確認年月日不明" else parse_wareki(text) と書きます',
        ],
        mistakes=[
            Mistake(
                "2 桁の年に 2000 を足しています。年の数え方は元号ごとに違います（S は昭和、"
                "H は平成、R は令和）。parse_wareki を使いましょう",
                example=lambda: [
                    None
                    if text == UNKNOWN
                    else date(2000 + int(text[1:3]), 1, 1).replace(
                        month=int(text[4:6]), day=int(text[7:9])
                    )
                    for text in INPUTS
                ],
            ),
            Mistake(
                "「確認年月日不明」を文字のまま返しています。日付が分からないときは None を"
                "返しましょう",
                example=lambda: [to_date(text) for text in INPUTS[:-1]] + [UNKNOWN],
                matches=lambda answer: (
                    isinstance(answer, list)
                    and len(answer) == len(INPUTS)
                    and isinstance(answer[-1], str)
                ),
            ),
            Mistake(
                "分からない日付に、別の日付を入れています。ないはずの日付が集計に混ざるので、"
                "None（欠損）にしましょう",
                example=lambda: [to_date(text) for text in INPUTS[:-1]] + [date(1900, 1, 1)],
                matches=lambda answer: (
                    isinstance(answer, list)
                    and len(answer) == len(INPUTS)
                    and isinstance(answer[-1], date)
                ),
            ),
        ],
        snippets=[
            f'[None if text == "確認年月日不明" else parse_wareki(text) for text in {INPUTS!r}]'
        ],
    ),
    Question(
        "q2",
        check=judge_opened,
        hints=[
            "parse_wareki には列（Series）をそのまま渡せます。空欄（None）はそのまま欠損になります",
            '先に .replace("確認年月日不明", None) で、文字の「不明」を空欄に置き換えます',
            'return のあとに parse_wareki(df["開設確認日"].replace("確認年月日不明", None)) と'
            "書きます",
        ],
        mistakes=[
            Mistake(
                "文字のままです。「S23.07.01」のような文字を、parse_wareki で日付に変えましょう",
                example=lambda: as_sent(salons()[COLUMN]),
                matches=lambda answer: (
                    isinstance(answer, pd.Series)
                    and answer.astype(str).str.match(r"^[SHR]\d").any()
                ),
            ),
            Mistake(
                "「確認年月日不明」の行を消しています。行は消さずに残し、日付を欠損（NaT）に"
                "しましょう。行を消すと、ほかの列と並びがずれます",
                example=lambda: as_sent(
                    parse_wareki(salons().loc[salons()[COLUMN] != UNKNOWN, COLUMN])
                ),
                matches=lambda answer: _is_series_of_length(
                    answer, int((salons()[COLUMN] != UNKNOWN).sum())
                ),
            ),
        ],
        snippets=[
            'parse_wareki(salons["開設確認日"].replace("確認年月日不明", None))',
            '[parse_wareki(df["開設確認日"].replace("確認年月日不明", None)) for df in [salons]][0]',
        ],
    ),
    Question(
        "q3",
        check=judge_per_year,
        hints=[
            ".dt.year で日付から西暦の年を取り出し、value_counts() で年ごとの件数を数えます",
            "value_counts() は件数の多い順に並びます。sort_index() で年の順に並べ替えてから、"
            ".loc[2018:2023] で 2018〜2023 年を取り出します",
            "opened のあとに .dt.year.value_counts().sort_index().loc[2018:2023] と続けます",
        ],
        mistakes=[
            Mistake(
                "件数の多い順の上から 6 つになっています。sort_index() で年の順に並べてから、"
                ".loc[2018:2023] で 2018〜2023 年を取り出しましょう",
                example=lambda: as_sent(opened().dt.year.value_counts().head(6)),
                matches=lambda answer: (
                    _is_series_of_length(answer, 6)
                    and sorted(answer.index.astype("int64")) != list(range(2018, 2024))
                ),
            ),
            Mistake(
                "すべての年が入っています。2018 年から 2023 年だけを .loc[2018:2023] で"
                "取り出しましょう",
                example=lambda: counted(opened()),
                matches=lambda answer: isinstance(answer, pd.Series) and len(answer) > 6,
            ),
        ],
        snippets=[
            'parse_wareki(salons["開設確認日"].replace("確認年月日不明", None))'
            ".dt.year.value_counts().sort_index().loc[2018:2023]"
        ],
    ),
    Question(
        "q4",
        expected=lambda: "B",
        hints=[
            "この一覧に載っているのは、2024 年 8 月の時点で登録されている美容所だけです",
            "それより前に廃止された美容所は、この一覧のどこにも残っていません。古い年に"
            "開いた美容所ほど、その後に廃止されている可能性が高くなります",
        ],
        mistakes=[
            Mistake(
                "A ではありません。古い年ほど件数が少ないのは、その後に廃止された美容所が一覧から"
                "消えているからかもしれません。今の一覧だけでは、昔開いた数は分かりません",
                example=lambda: "A",
            ),
            Mistake(
                "C ではありません。H31.04.30 と R01.05.01 は、同じ 2019 年の別々の日付です。"
                "一つの美容所が 2 回数えられることはありません",
                example=lambda: "C",
            ),
            Mistake(
                "D ではありません。日付の分からない行は欠損として除けば、年ごとの件数は"
                "数えられます。問題は、一覧に載っていない美容所があることです",
                example=lambda: "D",
            ),
        ],
    ),
]
