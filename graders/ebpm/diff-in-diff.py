"""Checks of 課題4「比較群を置く（差の差）」 (exercises/ebpm/diff-in-diff).

The notebook's setup cells build, from 厚生労働省「新規陽性者数の推移（日別）」 (final vintage)
and SSDSE-B-2025 (2020 census population): `weekly` (7-day sums from 2020-03-10, one column per
prefecture), `population`, `DECLARED` (the 7 prefectures of 2020-04-07) and `OTHERS` (the 40).

    check("q1", declared_rate)   # 宣言した7都府県の、人口10万人あたりの週の新規陽性者数（Series）
    check("q2", other_rate)      # ほかの40道県の同じもの（比較群）
    check("q3", fig)             # 二つの折れ線
    check("q4", did)             # 差の差: 3/31 の週 → 4/7 の週
    check("q5", placebo)         # 宣言前の差の差: 3/24 の週 → 3/31 の週

The same questions back `assert_check` in the autograder; the hidden tests stay stricter.
"""

import math
from functools import cache

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict, judge_figure
from sunaba.checks.wire import Figure
from sunaba.datasets import load

DECLARED = ["Saitama", "Chiba", "Tokyo", "Kanagawa", "Osaka", "Hyogo", "Fukuoka"]
PER = 100_000
BEFORE, AFTER, EARLIER = "2020-03-31", "2020-04-07", "2020-03-24"


@cache
def data():
    cases = load("mhlw-covid19-daily-cases", "latest").set_index("Date")
    panel = load("ssdse-b-2025-prefecture-panel")
    prefs = list(cases.columns[1:])
    census = panel[panel["年度"] == 2020].sort_values("地域コード")
    population = pd.Series(census["総人口"].to_numpy(), index=prefs)
    daily = cases.loc["2020-03-10":"2020-05-11", prefs]
    weekly = daily.resample("7D").sum()
    others = [p for p in prefs if p not in DECLARED]
    return weekly, population, others, prefs


def weekly():
    return data()[0]


def population():
    return data()[1]


def others():
    return data()[2]


def group_rate(prefs) -> pd.Series:
    return weekly()[prefs].sum(axis=1) / population()[prefs].sum() * PER


def declared_rate():
    return group_rate(DECLARED)


def other_rate():
    return group_rate(others())


def did(rate_t, rate_c, before=BEFORE, after=AFTER) -> float:
    return float((rate_t[after] - rate_t[before]) - (rate_c[after] - rate_c[before]))


def mean_of_rates(prefs):
    return (weekly()[prefs] / population()[prefs] * PER).mean(axis=1)


# --- the chart ---


def chart(
    series,
    title="緊急事態宣言の前後の新規陽性者数",
    xlabel="週の初日",
    ylabel="人口10万人あたり（7日間）",
):
    return Figure(
        {
            "axes": [
                {
                    "title": title,
                    "xlabel": xlabel,
                    "ylabel": ylabel,
                    "lines": [
                        {
                            "x": [float(i) for i in range(len(s))],
                            "y": [float(v) for v in s.astype("float64")],
                            "label": "_",
                        }
                        for s in series
                    ],
                    "bars": [],
                    "xticklabels": [],
                }
            ]
        }
    )


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
        and all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(a, b, strict=True))
        for a, b in zip(mine, want, strict=True)
    )


def right_chart():
    return chart([declared_rate(), other_rate()])


def check_chart(answer) -> Verdict:
    if not isinstance(answer, Figure):
        return Verdict.failed(
            'グラフを渡してください（check("q3", fig) の fig は plt.subplots() で作った図です）'
        )
    verdict = judge_figure(answer, right_chart())
    if not verdict.ok:
        return verdict
    if not _same_lines(answer, right_chart()):
        return Verdict.failed("線の値が違います。問1と問2の、人口10万人あたりの値を描きましょう")
    return Verdict.passed()


def _counts_chart():
    return chart([weekly()[DECLARED].sum(axis=1), weekly()[others()].sum(axis=1)])


def _every_prefecture_chart():
    return chart([weekly()[p] / population()[p] * PER for p in data()[3]])


QUESTIONS = [
    Question(
        "q1",
        expected=declared_rate,
        rel_tol=1e-9,
        hints=[
            "人口の多い都府県ほど人数も多くなります。グループ全体の人数を、グループ全体の人口で割ります",
            "weekly[DECLARED].sum(axis=1) が7都府県の週ごとの人数の合計、population[DECLARED].sum() が7都府県の人口の合計です",
            "weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000 と書きます",
        ],
        mistakes=[
            Mistake(
                "人数のままです。人口の違うグループを比べるので、7都府県の人口の合計で割って10万人あたりにしましょう",
                example=lambda: weekly()[DECLARED].sum(axis=1),
            ),
            Mistake(
                "都府県ごとの率を平均しています。人口の少ない県も東京都と同じ重みになってしまいます。"
                "7都府県の人数の合計を、7都府県の人口の合計で割りましょう",
                example=lambda: mean_of_rates(DECLARED),
            ),
            Mistake(
                "1人あたりの値になっています。10万人あたりにするには 100000 をかけます",
                example=lambda: declared_rate() / PER,
            ),
        ],
        snippets=["weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000"],
    ),
    Question(
        "q2",
        expected=other_rate,
        rel_tol=1e-9,
        hints=[
            "比較群は、4月7日の宣言の対象にならなかった40道県（OTHERS）です。問1と同じ計算を OTHERS で行います",
            "問1の式の DECLARED を、2か所とも OTHERS にかえます",
            "weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000 と書きます",
        ],
        mistakes=[
            Mistake(
                "宣言した7都府県のままです。比較群は、宣言の対象にならなかった40道県（OTHERS）です",
                example=declared_rate,
            ),
            Mistake(
                "47都道府県すべてで計算しています。比較群からは、宣言した7都府県を除きましょう（OTHERS）",
                example=lambda: group_rate(data()[3]),
            ),
            Mistake(
                "人数のままです。40道県の人口の合計で割って10万人あたりにしましょう",
                example=lambda: weekly()[others()].sum(axis=1),
            ),
        ],
        snippets=["weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000"],
    ),
    Question(
        "q3",
        check=check_chart,
        hints=[
            "1本目が宣言した7都府県（問1）、2本目がほかの40道県（問2）の、2本の折れ線にします",
            'declared_rate.plot(ax=ax, label="…") と other_rate.plot(ax=ax, label="…") で同じグラフに2本描けます。ax.legend() で凡例が出ます',
            'さらに ax.set_title("…")・ax.set_xlabel("週の初日")・ax.set_ylabel("…") で、題と軸名を日本語でつけます',
        ],
        mistakes=[
            Mistake(
                "人数のまま描いています。人口の違うグループを並べるので、10万人あたりの問1・問2の値を描きましょう",
                example=_counts_chart,
                matches=lambda answer: _same_lines(answer, _counts_chart()),
            ),
            Mistake(
                "都道府県ごとに47本の線を描いています。宣言した7都府県とほかの40道県の、2本にまとめましょう",
                example=_every_prefecture_chart,
                matches=lambda answer: _same_lines(answer, _every_prefecture_chart()),
            ),
        ],
        snippets=[
            "(ax := (weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000)"
            '.plot(label="宣言した7都府県"), '
            "(weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000)"
            '.plot(ax=ax, label="ほかの40道県"), '
            'ax.set_title("緊急事態宣言の前後の新規陽性者数"), ax.set_xlabel("週の初日"), '
            'ax.set_ylabel("人口10万人あたり（7日間）"), ax.legend())[0]'
        ],
    ),
    Question(
        "q4",
        expected=lambda: did(declared_rate(), other_rate()),
        rel_tol=1e-6,
        hints=[
            "差の差 ＝（宣言した側の、後 − 前）−（比較群の、後 − 前）です。前は 3月31日からの週、後は 4月7日からの週です",
            'declared_rate["2020-04-07"] で、4月7日からの週の値が取り出せます',
            '(declared_rate["2020-04-07"] - declared_rate["2020-03-31"]) - (other_rate["2020-04-07"] - other_rate["2020-03-31"]) と書きます',
        ],
        mistakes=[
            Mistake(
                "宣言した7都府県の前後の差だけです（比較群のない前後比較）。同じ期間に比較群がどれだけ変わったかを引きましょう",
                example=lambda: float(declared_rate()[AFTER] - declared_rate()[BEFORE]),
            ),
            Mistake(
                "引く順番が逆です。（宣言した側の変化）−（比較群の変化）にしましょう",
                example=lambda: -did(declared_rate(), other_rate()),
            ),
            Mistake(
                "人数で計算しています。人口の違うグループを比べるので、10万人あたりの問1・問2の値を使いましょう",
                example=lambda: did(weekly()[DECLARED].sum(axis=1), weekly()[others()].sum(axis=1)),
            ),
        ],
        snippets=[
            '((weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000)["2020-04-07"]'
            ' - (weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000)["2020-03-31"])'
            ' - ((weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000)["2020-04-07"]'
            ' - (weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000)["2020-03-31"])'
        ],
    ),
    Question(
        "q5",
        expected=lambda: did(declared_rate(), other_rate(), EARLIER, BEFORE),
        rel_tol=1e-6,
        hints=[
            "宣言の前の2つの週どうしで、問4と同じ計算をします。前は 3月24日からの週、後は 3月31日からの週です",
            '問4の式の "2020-04-07" を "2020-03-31" に、"2020-03-31" を "2020-03-24" にかえます',
            '(declared_rate["2020-03-31"] - declared_rate["2020-03-24"]) - (other_rate["2020-03-31"] - other_rate["2020-03-24"]) と書きます',
        ],
        mistakes=[
            Mistake(
                "宣言のあとの週（4月7日から）を使っています。宣言の前の2つの週（3月24日からと3月31日から）で比べましょう",
                example=lambda: did(declared_rate(), other_rate()),
            ),
            Mistake(
                "宣言した7都府県の変化だけです。比較群の同じ期間の変化を引きましょう",
                example=lambda: float(declared_rate()[BEFORE] - declared_rate()[EARLIER]),
            ),
        ],
        snippets=[
            '((weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000)["2020-03-31"]'
            ' - (weekly[DECLARED].sum(axis=1) / population[DECLARED].sum() * 100000)["2020-03-24"])'
            ' - ((weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000)["2020-03-31"]'
            ' - (weekly[OTHERS].sum(axis=1) / population[OTHERS].sum() * 100000)["2020-03-24"])'
        ],
    ),
]
