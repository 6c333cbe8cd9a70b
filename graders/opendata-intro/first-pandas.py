"""Checks of 課題1「はじめての Jupyter と pandas」 (exercises/opendata-intro/first-pandas).

Data: 高松市 町丁別人口（2024年4月1日現在）, loaded once as `pop` by the notebook's setup cell.
What each check expects from the notebook:

    check("q1", town_count)     # the number of 町丁 (rows)
    check("q2", total)          # the city's population
    check("q3", big_towns)      # the rows of 町丁 with 10,000 people or more
    check("q4", top5)           # the names of the five most populous 町丁, largest first
    check("q5", big_total)      # the people living in those big 町丁
"""

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.wire import decode_answer, encode_answer
from sunaba.datasets import load

BIG = 10_000


def as_sent(value):
    """A value as the check service receives it from a learner's kernel."""
    return decode_answer(encode_answer(value))


def pop():
    return load("takamatsu-population", "population-202404")


def big_towns():
    frame = pop()
    return frame[frame["totalPopulation"] >= BIG]


def ranked(ascending):
    frame = pop().sort_values("totalPopulation", ascending=ascending)
    return frame.head(5)["regionName"].tolist()


QUESTIONS = [
    Question(
        "q1",
        expected=lambda: len(pop()),
        hints=[
            "町丁は表の 1 行に 1 つずつ並んでいます。行の数を数えましょう",
            "len(pop) で表の行の数が分かります。見出しの行は数に入りません",
            "town_count = のあとに len(pop) と書きます",
        ],
        mistakes=[
            Mistake(
                "列の数を数えています。len(pop.columns) は列（項目）の数です。町丁は行に"
                "並んでいるので、行の数を数えましょう",
                example=lambda: len(pop().columns),
            ),
            Mistake(
                "見出しの行まで数えています。Excel の最後の行番号と違い、pandas の表の行数に"
                "見出しは入りません",
                example=lambda: len(pop()) + 1,
            ),
        ],
        snippets=["len(pop)"],
    ),
    Question(
        "q2",
        expected=lambda: int(pop()["totalPopulation"].sum()),
        hints=[
            "総人口の列は totalPopulation です。その列の数を全部足します",
            'pop["totalPopulation"] で列を取り出し、.sum() で合計します',
            'total = のあとに pop["totalPopulation"].sum() と書きます',
        ],
        mistakes=[
            Mistake(
                "男性（male）だけの合計です。男女を合わせた総人口の列は totalPopulation です",
                example=lambda: int(pop()["male"].sum()),
            ),
            Mistake(
                "世帯数（numberOfHouseholds）の合計です。人口の列は totalPopulation です",
                example=lambda: int(pop()["numberOfHouseholds"].sum()),
            ),
            Mistake(
                "count() は数の入っている行を数えるだけです。足し算するには sum() を使います",
                example=lambda: int(pop()["totalPopulation"].count()),
            ),
        ],
        snippets=['pop["totalPopulation"].sum()'],
    ),
    Question(
        "q3",
        expected=lambda: as_sent(big_towns()),
        ignore_index=True,
        hints=[
            "まず「人口が 1 万人以上か」を行ごとに True/False で表す条件を作ります",
            'pop["totalPopulation"] >= 10000 が条件です。表[条件] と書くと True の行だけが残ります',
            'big_towns = のあとに pop[pop["totalPopulation"] >= 10000] と書きます',
        ],
        mistakes=[
            Mistake(
                "True/False の列のままです。条件を pop[ ] の中に入れて、表そのものを絞り込み"
                "ましょう",
                example=lambda: pop()["totalPopulation"] >= BIG,
                matches=lambda answer: (
                    hasattr(answer, "dtype")
                    and str(answer.dtype)
                    in (
                        "bool",
                        "boolean",
                    )
                ),
            ),
            Mistake(
                "1 万人より少ない町丁を選んでいます。不等号の向き（>= と <）を確かめましょう",
                example=lambda: as_sent(pop()[pop()["totalPopulation"] < BIG]),
            ),
        ],
        snippets=['pop[pop["totalPopulation"] >= 10000]'],
    ),
    Question(
        "q4",
        expected=lambda: ranked(ascending=False),
        hints=[
            "人口の多い順に並べ替えてから、上から 5 行を取り出し、町丁名の列だけをリストにします",
            'sort_values("totalPopulation", ascending=False) で多い順に並びます。'
            "head(5) で上から 5 行です",
            'top5 = のあとに pop.sort_values("totalPopulation", ascending=False).head(5)'
            '["regionName"].tolist() と書きます',
        ],
        mistakes=[
            Mistake(
                "人口の少ない順になっています。sort_values は何も指定しないと小さい順です。"
                "ascending=False で多い順にしましょう",
                example=lambda: ranked(ascending=True),
            ),
            Mistake(
                "並べ替える前の、表の先頭の 5 行です。sort_values で並べ替えてから head(5) を"
                "使いましょう",
                example=lambda: pop().head(5)["regionName"].tolist(),
            ),
        ],
        snippets=[
            'pop.sort_values("totalPopulation", ascending=False).head(5)["regionName"].tolist()'
        ],
    ),
    Question(
        "q5",
        expected=lambda: int(big_towns()["totalPopulation"].sum()),
        hints=[
            "問3 で絞り込んだ表（1 万人以上の町丁）の、総人口の列を合計します",
            '問2 と同じ ["totalPopulation"].sum() が、絞り込んだ表にもそのまま使えます',
            'big_total = のあとに pop[pop["totalPopulation"] >= 10000]["totalPopulation"].sum() と書きます',
        ],
        mistakes=[
            Mistake(
                "町丁の数になっています。求めるのはその町丁に住む人の合計です。"
                '["totalPopulation"].sum() で足しましょう',
                example=lambda: len(big_towns()),
            ),
            Mistake(
                "市全体の人口です。先に 1 万人以上の町丁だけに絞り込んでから合計しましょう",
                example=lambda: int(pop()["totalPopulation"].sum()),
            ),
        ],
        snippets=['pop[pop["totalPopulation"] >= 10000]["totalPopulation"].sum()'],
    ),
]
