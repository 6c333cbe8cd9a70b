"""Checks of 課題5「政策メモ」 (exercises/ebpm/policy-memo): the numbers the memo quotes.

The notebook's setup cell counts 焼津市の人身事故: `after` (2020年4〜5月), `before` (2019年4〜5月),
`other_after` and `other_before` (the other ten months of 2020 and 2019).

    check("q1", rr)         # 率の比 after / before
    check("q2", interval)   # その 95% 信頼区間 [下限, 上限]（対数をとって ± 1.96 × 標準誤差）
    check("q3", adjusted)   # ほかの月の傾向で割った比 rr / (other_after / other_before)

The memo itself (q4) is graded by hand with the rubric shown in the notebook.
"""

import math
from functools import cache

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.datasets import load

Z = 1.96


@cache
def counts():
    accidents = load("yaizu-traffic-accidents", "accidents-*")
    day = accidents["発生日時（年月日）"]
    monthly = pd.crosstab(day.dt.year, day.dt.month)
    spring = [4, 5]
    return (
        int(monthly.loc[2020, spring].sum()),
        int(monthly.loc[2019, spring].sum()),
        int(monthly.loc[2020].drop(spring).sum()),
        int(monthly.loc[2019].drop(spring).sum()),
    )


def rr() -> float:
    after, before, _, _ = counts()
    return after / before


def se() -> float:
    after, before, _, _ = counts()
    return math.sqrt(1 / after + 1 / before)


def interval() -> list[float]:
    return [math.exp(math.log(rr()) - Z * se()), math.exp(math.log(rr()) + Z * se())]


def trend() -> float:
    _, _, other_after, other_before = counts()
    return other_after / other_before


QUESTIONS = [
    Question(
        "q1",
        expected=rr,
        rel_tol=1e-6,
        hints=[
            "率の比は「後 ÷ 前」です。1 より小さければ減った、1 より大きければ増えたことを表します",
            "後は after（2020年4〜5月）、前は before（2019年4〜5月）です",
            "after / before と書きます",
        ],
        mistakes=[
            Mistake(
                "変化率（%）になっています。この問では、後 ÷ 前 の比をそのまま使います（100 をかけず、1 も引きません）",
                example=lambda: (rr() - 1) * 100,
            ),
            Mistake(
                "前と後が逆です。after ÷ before にしましょう",
                example=lambda: 1 / rr(),
            ),
            Mistake(
                "件数の差になっています。比（割り算）にしましょう",
                example=lambda: float(counts()[0] - counts()[1]),
            ),
        ],
        snippets=["after / before"],
    ),
    Question(
        "q2",
        expected=interval,
        rel_tol=1e-6,
        hints=[
            "比はそのまま ± せず、まず math.log で対数にします。対数の標準誤差は math.sqrt(1 / after + 1 / before) です",
            "下限は math.exp(対数 − 1.96 × 標準誤差)、上限は math.exp(対数 + 1.96 × 標準誤差) です。"
            "[下限, 上限] の順のリストにします",
            "[math.exp(math.log(after / before) - 1.96 * math.sqrt(1 / after + 1 / before)), "
            "math.exp(math.log(after / before) + 1.96 * math.sqrt(1 / after + 1 / before))] と書きます",
        ],
        mistakes=[
            Mistake(
                "比のまま ± しています。比は math.log で対数にしてから ± し、最後に math.exp でもとに戻します",
                example=lambda: [rr() - Z * se(), rr() + Z * se()],
            ),
            Mistake(
                "標準誤差の平方根をとっていません。標準誤差は math.sqrt(1 / after + 1 / before) です",
                example=lambda: [
                    math.exp(math.log(rr()) - Z * se() ** 2),
                    math.exp(math.log(rr()) + Z * se() ** 2),
                ],
            ),
            Mistake(
                "下限と上限が逆です。小さいほう（下限）を先にしましょう",
                example=lambda: list(reversed(interval())),
            ),
        ],
        snippets=[
            "[math.exp(math.log(after / before) - 1.96 * math.sqrt(1 / after + 1 / before)), "
            "math.exp(math.log(after / before) + 1.96 * math.sqrt(1 / after + 1 / before))]"
        ],
    ),
    Question(
        "q3",
        expected=lambda: rr() / trend(),
        rel_tol=1e-6,
        hints=[
            "宣言と関係のない月でも事故は減っていました。その減り方（傾向）の分を取り除きます",
            "傾向の比は other_after / other_before です。4〜5月の比をこれで割ります",
            "(after / before) / (other_after / other_before) と書きます",
        ],
        mistakes=[
            Mistake(
                "ほかの月の傾向を取り除いていません。4〜5月の比を、ほかの月の比（other_after / other_before）で割りましょう",
                example=rr,
            ),
            Mistake(
                "傾向の比をかけています。傾向の分を取り除くには、割ります",
                example=lambda: rr() * trend(),
            ),
            Mistake(
                "変化率（%）になっています。この問では比のまま答えます（100 をかけず、1 も引きません）",
                example=lambda: (rr() / trend() - 1) * 100,
            ),
        ],
        snippets=["(after / before) / (other_after / other_before)"],
    ),
]
