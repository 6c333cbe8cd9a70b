"""Checks of 課題5「集計とグラフ」 (exercises/opendata-intro/charts).

Data: 高松市 町丁別人口, April 1 of 2019 to 2024 (six files stacked by `load` with a pattern);
the setup cells add 年 and keep `both`, the rows of 2019 and 2024 (the 2023 file's 町丁 names
are garbled upstream, so tables by name use 2019 and 2024 only). What each check expects:

    check("q1", totals)   # population per year: groupby("年") sum
    check("q2", table)    # 町丁 × {2019, 2024} population: pivot_table
    check("q3", fig)      # a line chart of totals, Japanese title and axis labels
    check("q4", fig2)     # a bar chart of the ten 町丁 that lost most people, largest first

Charts are judged on their description (marks, values, title, labels), never on pixels.
"""

import re

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict
from sunaba.checks.wire import Figure, decode_answer, encode_answer
from sunaba.datasets import load

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
TOP = 10


def as_sent(value):
    """A value as the check service receives it from a learner's kernel."""
    return decode_answer(encode_answer(value))


def pop():
    frame = load("takamatsu-population", "population-20??04")
    frame["年"] = frame["surveyDate"].dt.year
    return frame


def both():
    frame = pop()
    return frame[frame["年"].isin([2019, 2024])]


def totals(how="sum", column="totalPopulation"):
    return pop().groupby("年")[column].agg(how)


def table(**options):
    options = {"index": "regionName", "columns": "年", "values": "totalPopulation"} | options
    return both().pivot_table(aggfunc="sum", **options)


def decline():
    pivot = table()
    return (pivot[2019] - pivot[2024]).sort_values(ascending=False).head(TOP)


def figure(draw, title="", xlabel="", ylabel="") -> Figure:
    """The description of a chart drawn by `draw(ax)`, as the check service receives it."""
    from matplotlib.figure import Figure as MatplotlibFigure

    chart = MatplotlibFigure()
    ax = chart.subplots()
    draw(ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return as_sent(chart)


def _close(values, expected) -> bool:
    import math

    return len(values) == len(expected) and all(
        math.isclose(float(a), float(b), rel_tol=1e-9)
        for a, b in zip(values, expected, strict=True)
    )


def _labels(axes) -> list[str]:
    messages = []
    for key, word in (
        ("title", "タイトル"),
        ("xlabel", "横軸のラベル"),
        ("ylabel", "縦軸のラベル"),
    ):
        text = str(axes.get(key) or "").strip()
        if not text:
            messages.append(f"{word}がありません")
        elif not JAPANESE.search(text):
            messages.append(f"{word}を日本語にしましょう")
    return messages


def _axes(answer):
    if not isinstance(answer, Figure):
        return None
    return answer.axes[0] if answer.axes else None


def judge_line(answer) -> Verdict:
    axes = _axes(answer)
    if axes is None:
        return Verdict.failed("グラフ（fig）を渡してください")
    expected = totals()
    lines = [line for line in axes["lines"] if len(line["y"]) > 1]
    messages = []
    if not lines:
        messages.append("折れ線がありません")
    elif len(lines) > 1:
        messages.append(f"線が {len(lines)} 本あります。総人口の 1 本だけにしましょう")
    elif not _close(lines[0]["y"], list(expected)):
        messages.append("線の値が、年ごとの総人口の合計と違います")
    elif not _close(lines[0]["x"], list(expected.index)):
        messages.append("横軸が年になっていません")
    messages += _labels(axes)
    return Verdict.failed(*messages) if messages else Verdict.passed()


def judge_bars(answer) -> Verdict:
    axes = _axes(answer)
    if axes is None:
        return Verdict.failed("グラフ（fig2）を渡してください")
    expected = list(decline())
    bars = axes["bars"]
    messages = []
    if not bars:
        messages.append("棒グラフになっていません")
    elif len(bars) != len(expected):
        messages.append(f"棒の数が違います（あなたのグラフは {len(bars)} 本）")
    elif not _close(bars, expected):
        if _close(sorted(bars, reverse=True), expected):
            messages.append("棒が大きい順に並んでいません")
        else:
            messages.append("棒の高さが、減った人数と違います")
    messages += _labels(axes)
    return Verdict.failed(*messages) if messages else Verdict.passed()


def _has_bars_only(answer) -> bool:
    axes = _axes(answer)
    return axes is not None and bool(axes["bars"]) and not axes["lines"]


def _english_labels(answer) -> bool:
    axes = _axes(answer)
    texts = [str(axes.get(key) or "") for key in ("title", "xlabel", "ylabel")] if axes else []
    return any(text.strip() and not JAPANESE.search(text) for text in texts)


def _too_many_bars(answer) -> bool:
    axes = _axes(answer)
    return axes is not None and len(axes["bars"]) > TOP


def _negative_bars(answer) -> bool:
    axes = _axes(answer)
    return axes is not None and bool(axes["bars"]) and all(h < 0 for h in axes["bars"])


def _line(values):
    return lambda ax: ax.plot(list(values.index), [float(v) for v in values], marker="o")


def _bars(values):
    return lambda ax: ax.bar([str(i) for i in values.index], [float(v) for v in values])


QUESTIONS = [
    Question(
        "q1",
        expected=lambda: as_sent(totals()),
        hints=[
            "年ごとに分けて、総人口（totalPopulation）を合計します。例題の世帯数と同じ形です",
            'groupby("年") で年ごとに分け、["totalPopulation"] の .sum() で合計します',
            'totals = のあとに pop.groupby("年")["totalPopulation"].sum() と書きます',
        ],
        mistakes=[
            Mistake(
                "行の数（町丁の数）を数えています。count() は数の入った行を数えるだけです。"
                "人口を足すには sum() を使います",
                example=lambda: as_sent(totals("count")),
            ),
            Mistake(
                "平均（1 町丁あたりの人口）になっています。市全体の人口は sum() で合計します",
                example=lambda: as_sent(totals("mean")),
            ),
            Mistake(
                "世帯数の合計になっています。人口の列は totalPopulation です",
                example=lambda: as_sent(totals(column="numberOfHouseholds")),
            ),
        ],
        snippets=['pop.groupby("年")["totalPopulation"].sum()'],
    ),
    Question(
        "q2",
        expected=lambda: as_sent(table()),
        check_dtype=False,
        hints=[
            "ピボットテーブルは、行に町丁、列に年、中身に総人口を置いた表です。Excel の"
            "ピボットテーブルと同じ考え方です",
            'pivot_table の index= に "regionName"、columns= に "年"、values= に'
            ' "totalPopulation" を指定します',
            'table = のあとに both.pivot_table(index="regionName", columns="年", '
            'values="totalPopulation", aggfunc="sum") と書きます',
        ],
        mistakes=[
            Mistake(
                "行と列が逆です。町丁を行（index）に、年を列（columns）にしましょう",
                example=lambda: as_sent(table(index="年", columns="regionName")),
                matches=lambda answer: isinstance(answer, pd.DataFrame) and len(answer) == 2,
            ),
            Mistake(
                "世帯数の表になっています。values= には総人口の列 totalPopulation を指定しましょう",
                example=lambda: as_sent(table(values="numberOfHouseholds")),
            ),
        ],
        snippets=[
            'both.pivot_table(index="regionName", columns="年", values="totalPopulation", '
            'aggfunc="sum")',
            'both.pivot_table(index="regionName", columns="年", values="totalPopulation")',
        ],
    ),
    Question(
        "q3",
        check=judge_line,
        hints=[
            "年ごとの移り変わりは折れ線グラフで描きます。plt.subplots() で新しいグラフを用意し、"
            "問1 の totals に .plot を付けてそこに描きます",
            "タイトル（title=）と軸のラベル（xlabel=、ylabel=）を日本語で書きます。縦軸には単位"
            "（人）も付けましょう",
            'fig, ax = plt.subplots() のあとに totals.plot(ax=ax, marker="o", '
            'title="高松市の人口の推移（各年4月1日）", xlabel="年", ylabel="人口（人）") と書きます',
        ],
        mistakes=[
            Mistake(
                "棒グラフになっています。年ごとの移り変わりは、折れ線（.plot）で描くと"
                "増え減りがひと目で分かります",
                example=lambda: figure(_bars(totals()), "高松市の人口", "年", "人口（人）"),
                matches=_has_bars_only,
            ),
            Mistake(
                "ラベルが英語（列名）のままです。課長が 10 秒で読めるよう、タイトルと軸の"
                "ラベルを日本語にしましょう",
                example=lambda: figure(_line(totals()), "Population", "year", "totalPopulation"),
                matches=_english_labels,
            ),
        ],
        snippets=[
            '[totals.plot(ax=ax, marker="o", title="高松市の人口の推移（各年4月1日）", '
            'xlabel="年", ylabel="人口（人）").figure '
            'for totals in [pop.groupby("年")["totalPopulation"].sum()] '
            "for ax in [plt.subplots()[1]]][0]"
        ],
    ),
    Question(
        "q4",
        check=judge_bars,
        hints=[
            "減った人数は「2019 年の人口 − 2024 年の人口」です。問2 の表の 2 つの列を引き算"
            "し、大きい順に並べて上から 10 町丁を取り出します",
            "sort_values(ascending=False).head(10) で大きい順の上位 10 です。そのあとに "
            ".plot.bar で棒グラフにします（plt.subplots() で新しいグラフを用意して ax=ax, で"
            "そこに描きます）",
            "decline = (table[2019] - table[2024]).sort_values(ascending=False).head(10) で"
            "減った人数の上位 10 を求め、fig2, ax = plt.subplots() のあとに "
            'decline.plot.bar(ax=ax, title="人口が減った町丁 上位10（2019→2024年）", '
            'xlabel="町丁", ylabel="減った人数（人）") と書きます',
        ],
        mistakes=[
            Mistake(
                "人口が増えた町丁になっています。減った人数は「2019 年 − 2024 年」です。"
                "引き算の順番を確かめましょう",
                example=lambda: figure(
                    _bars((table()[2024] - table()[2019]).sort_values(ascending=False).head(TOP)),
                    "人口が増えた町丁",
                    "町丁",
                    "人数（人）",
                ),
            ),
            Mistake(
                "すべての町丁を描いています。棒が多すぎると 10 秒では読めません。大きい順に"
                "並べて上位 10 町丁に絞りましょう（.head(10)）",
                example=lambda: figure(
                    _bars((table()[2019] - table()[2024]).sort_values(ascending=False)),
                    "人口が減った町丁",
                    "町丁",
                    "減った人数（人）",
                ),
                matches=_too_many_bars,
            ),
            Mistake(
                "棒が下向き（マイナス）です。減った人数は「2019 年 − 2024 年」で、プラスの数に"
                "なります",
                example=lambda: figure(
                    _bars((table()[2024] - table()[2019]).sort_values().head(TOP)),
                    "人口が減った町丁",
                    "町丁",
                    "減った人数（人）",
                ),
                matches=_negative_bars,
            ),
        ],
        snippets=[
            '[decline.plot.bar(ax=ax, title="人口が減った町丁 上位10（2019→2024年）", '
            'xlabel="町丁", ylabel="減った人数（人）").figure '
            'for table in [both.pivot_table(index="regionName", columns="年", '
            'values="totalPopulation", aggfunc="sum")] '
            "for decline in [(table[2019] - table[2024]).sort_values(ascending=False).head(10)] "
            "for ax in [plt.subplots()[1]]][0]"
        ],
    ),
]
