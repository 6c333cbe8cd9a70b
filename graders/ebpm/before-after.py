"""Checks of 課題3「前後比較の落とし穴」 (exercises/ebpm/before-after).

What each check expects from the notebook (`accidents` is 焼津市の人身事故 2019–2022,
`day` its 発生日時（年月日）):

    check("q1", naive)        # 2020年4〜5月 と 直前の2〜3月 の変化率（%）
    check("q2", yoy)          # 2020年4〜5月 と 前の年（2019年）の4〜5月 の変化率（%）
    check("q3", fig)          # 月ごとの件数の折れ線（年ごとに1本、4本）
    check("q4", trend)        # 4〜5月以外の月の、2019年から2020年への変化率（%）
    check("q5", excess)       # 傾向を超えて減った分（ポイント）= yoy - trend

`monthly` (年 × 月 の件数) is built by the notebook's setup cell, as in the lesson.

The same questions back `assert_check` in the autograder; the hidden tests stay stricter.
"""

import math
from functools import cache

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict, judge_figure
from sunaba.checks.wire import Figure
from sunaba.datasets import load

SPRING = [4, 5]


@cache
def monthly() -> pd.DataFrame:
    accidents = load("yaizu-traffic-accidents", "accidents-*")
    day = accidents["発生日時（年月日）"]
    return pd.crosstab(day.dt.year, day.dt.month)


def count(year, months) -> int:
    return int(monthly().loc[year, months].sum())


def change(after, before) -> float:
    return (after / before - 1) * 100


def naive() -> float:
    return change(count(2020, SPRING), count(2020, [2, 3]))


def yoy() -> float:
    return change(count(2020, SPRING), count(2019, SPRING))


def others(year) -> int:
    return int(monthly().loc[year].drop(SPRING).sum())


def trend() -> float:
    return change(others(2020), others(2019))


# --- the chart: a line per year ---


def line_chart(rows, title="焼津市の月別の人身事故件数", xlabel="月", ylabel="事故の件数"):
    return Figure(
        {
            "axes": [
                {
                    "title": title,
                    "xlabel": xlabel,
                    "ylabel": ylabel,
                    "lines": [
                        {
                            "x": [float(m) for m in range(1, len(row) + 1)],
                            "y": [float(v) for v in row],
                            "label": "_",
                        }
                        for row in rows
                    ],
                    "bars": [],
                    "xticklabels": [],
                }
            ]
        }
    )


def right_chart():
    return line_chart(monthly().to_numpy().tolist())


def _ys(answer):
    if not isinstance(answer, Figure) or not answer.axes:
        return None
    return sorted(tuple(line["y"]) for line in answer.axes[0]["lines"])


def _same_lines(answer, expected) -> bool:
    mine, want = _ys(answer), _ys(expected)
    if mine is None or len(mine) != len(want):
        return False
    return all(
        len(a) == len(b)
        and all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(a, b, strict=True))
        for a, b in zip(mine, want, strict=True)
    )


def check_chart(answer) -> Verdict:
    if not isinstance(answer, Figure):
        return Verdict.failed(
            'グラフを渡してください（check("q3", fig) の fig は plt.subplots() で作った図です）'
        )
    verdict = judge_figure(answer, right_chart())
    if not verdict.ok:
        return verdict
    if not _same_lines(answer, right_chart()):
        return Verdict.failed(
            "線の値が違います。年ごとに、1月から12月までの事故の件数を描きましょう"
        )
    return Verdict.passed()


def _one_long_line():
    return line_chart([monthly().to_numpy().ravel().tolist()])


def _line_per_month():
    return line_chart(monthly().T.to_numpy().tolist())


QUESTIONS = [
    Question(
        "q1",
        expected=naive,
        rel_tol=1e-6,
        hints=[
            "「後」は2020年の4月と5月、「前」はその直前の2020年2月と3月です。それぞれ2か月分を足します",
            "変化率（%）は (後 ÷ 前 − 1) × 100 です。monthly.loc[2020, [4, 5]].sum() で2020年4〜5月の合計が出ます",
            "(monthly.loc[2020, [4, 5]].sum() / monthly.loc[2020, [2, 3]].sum() - 1) * 100 と書きます",
        ],
        mistakes=[
            Mistake(
                "件数の差になっています。大きさの違う期間どうしでも比べられるように、変化率（%）にしましょう",
                example=lambda: float(count(2020, SPRING) - count(2020, [2, 3])),
            ),
            Mistake(
                "比（後 ÷ 前 × 100）になっています。変化率は (後 ÷ 前 − 1) × 100 で、減ったときはマイナスになります",
                example=lambda: count(2020, SPRING) / count(2020, [2, 3]) * 100,
            ),
            Mistake(
                "前と後が逆です。後（4〜5月）÷ 前（2〜3月）にしましょう",
                example=lambda: change(count(2020, [2, 3]), count(2020, SPRING)),
            ),
        ],
        snippets=["(monthly.loc[2020, [4, 5]].sum() / monthly.loc[2020, [2, 3]].sum() - 1) * 100"],
    ),
    Question(
        "q2",
        expected=yoy,
        rel_tol=1e-6,
        hints=[
            "季節によって事故の多い月・少ない月があります。同じ季節どうしを比べるには、前の年の同じ月と比べます",
            "「前」を2019年の4月と5月にします。monthly.loc[2019, [4, 5]].sum() です",
            "(monthly.loc[2020, [4, 5]].sum() / monthly.loc[2019, [4, 5]].sum() - 1) * 100 と書きます",
        ],
        mistakes=[
            Mistake(
                "宣言の直前の月（2〜3月）と比べたままです（前の年と比べない前後比較）。季節による増減を除くため、"
                "前の年（2019年）の同じ月（4〜5月）と比べましょう",
                example=naive,
            ),
            Mistake(
                "2021年の同じ月と比べています。宣言の前の年（2019年）の4〜5月と比べましょう",
                example=lambda: change(count(2020, SPRING), count(2021, SPRING)),
            ),
            Mistake(
                "件数の差になっています。変化率（%）にしましょう",
                example=lambda: float(count(2020, SPRING) - count(2019, SPRING)),
            ),
        ],
        snippets=["(monthly.loc[2020, [4, 5]].sum() / monthly.loc[2019, [4, 5]].sum() - 1) * 100"],
    ),
    Question(
        "q3",
        check=check_chart,
        hints=[
            "横軸を月（1〜12）、縦軸を件数にして、年ごとに1本ずつ線を描きます（4本）",
            "monthly は行が年、列が月です。DataFrame の .plot() は列ごとに線を引くので、行と列を入れかえた monthly.T を使います",
            'monthly.T.plot(ax=ax) のあと、ax.set_title("…")・ax.set_xlabel("月")・ax.set_ylabel("…") で題と軸名をつけます',
        ],
        mistakes=[
            Mistake(
                "4年分が1本の線につながっています。年ごとに1本ずつ、4本の線にしましょう（monthly.T.plot(ax=ax)）",
                example=_one_long_line,
                matches=lambda answer: _same_lines(answer, _one_long_line()),
            ),
            Mistake(
                "月ごとに線を引いています（12本）。行と列を入れかえた monthly.T を描くと、年ごとの線になります",
                example=_line_per_month,
                matches=lambda answer: _same_lines(answer, _line_per_month()),
            ),
        ],
        snippets=[
            '(ax := monthly.T.plot(), ax.set_title("焼津市の月別の人身事故件数"), '
            'ax.set_xlabel("月"), ax.set_ylabel("事故の件数"))[0]'
        ],
    ),
    Question(
        "q4",
        expected=trend,
        rel_tol=1e-6,
        hints=[
            "宣言と関係のない月（1〜3月と6〜12月）でも、2019年から2020年に事故は減っています。その減り方が「傾向」です",
            "monthly.loc[2020].drop([4, 5]).sum() で、2020年の4〜5月以外の合計が出ます。2019年も同じようにします",
            "(monthly.loc[2020].drop([4, 5]).sum() / monthly.loc[2019].drop([4, 5]).sum() - 1) * 100 と書きます",
        ],
        mistakes=[
            Mistake(
                "4〜5月も含めた1年分で比べています。宣言の影響を受けていない月だけ（4〜5月を除く）で比べましょう",
                example=lambda: change(
                    int(monthly().loc[2020].sum()), int(monthly().loc[2019].sum())
                ),
            ),
            Mistake(
                "件数の差になっています。変化率（%）にしましょう",
                example=lambda: float(others(2020) - others(2019)),
            ),
            Mistake(
                "2019年と2020年が逆です。2020年 ÷ 2019年 にしましょう",
                example=lambda: change(others(2019), others(2020)),
            ),
        ],
        snippets=[
            "(monthly.loc[2020].drop([4, 5]).sum() / monthly.loc[2019].drop([4, 5]).sum() - 1) * 100"
        ],
    ),
    Question(
        "q5",
        expected=lambda: yoy() - trend(),
        rel_tol=1e-6,
        hints=[
            "問2の変化率には、宣言と関係なく続いている減り方（問4の傾向）も入っています。傾向の分を引くと、宣言の期間に「いつもより」減った分が残ります",
            "問2の答えから問4の答えを引きます。単位は「ポイント」（% どうしの差）です",
            "問2で yoy に入れた値から、問4で trend に入れた値を引きます",
        ],
        mistakes=[
            Mistake(
                "問1（直前の月との比較）から傾向を引いています。季節をそろえた問2（前の年の同じ月との比較）から引きましょう",
                example=lambda: naive() - trend(),
            ),
            Mistake(
                "引く順番が逆です。問2の変化率 − 問4の傾向 にしましょう",
                example=lambda: trend() - yoy(),
            ),
        ],
        snippets=[
            "(monthly.loc[2020, [4, 5]].sum() / monthly.loc[2019, [4, 5]].sum() - 1) * 100"
            " - (monthly.loc[2020].drop([4, 5]).sum() / monthly.loc[2019].drop([4, 5]).sum() - 1) * 100"
        ],
    ),
]
