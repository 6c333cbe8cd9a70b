"""Checks of 課題2「人口あたりで比べる」 (exercises/ebpm/per-capita).

What each check expects from the notebook (`ssdse` is SSDSE-A-2026 indexed by 地域コード):

    check("q1", yaizu_clinics)    # 焼津市の一般診療所数（件数）
    check("q2", yaizu_rate)       # 焼津市の人口10万人あたり一般診療所数
    check("q3", similar_median)   # 人口10万〜20万人の市区町村の、10万人あたり診療所数の中央値
    check("q4", fig)              # 類似団体の散布図（横: 65歳以上の割合、縦: 10万人あたり診療所数）
    check("q5", r)                # その相関係数

The same questions back `assert_check` in the autograder; the hidden tests stay stricter.
"""

import math
from functools import cache

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict, judge_figure
from sunaba.checks.wire import Figure
from sunaba.datasets import load

YAIZU = "R22212"
PER = 100_000


@cache
def ssdse():
    return load("ssdse-a-2026-municipalities").set_index("地域コード")


def clinics():
    return int(ssdse().loc[YAIZU, "一般診療所数"])


def rate():
    return float(ssdse().loc[YAIZU, "一般診療所数"] / ssdse().loc[YAIZU, "総人口"] * PER)


def similar():
    table = ssdse()
    return table[(table["総人口"] >= 100_000) & (table["総人口"] < 200_000)]


def rates(table):
    return table["一般診療所数"] / table["総人口"] * PER


def ageing(table):
    return table["65歳以上人口"] / table["総人口"] * 100


def correlation():
    return float(rates(similar()).corr(ageing(similar())))


def _floats(values) -> list[float]:
    return [float(v) for v in values.astype("float64")]


def scatter(
    x,
    y,
    title="類似団体の高齢化率と診療所",
    xlabel="65歳以上の割合（%）",
    ylabel="人口10万人あたり一般診療所数",
):
    """A figure description like the notebook's: one line of points."""
    return Figure(
        {
            "axes": [
                {
                    "title": title,
                    "xlabel": xlabel,
                    "ylabel": ylabel,
                    "lines": [{"x": _floats(x), "y": _floats(y), "label": "_"}],
                    "bars": [],
                    "xticklabels": [],
                }
            ]
        }
    )


def _points(answer):
    lines = answer.axes[0]["lines"] if isinstance(answer, Figure) and answer.axes else []
    if len(lines) != 1:
        return None
    return sorted(zip(lines[0]["x"], lines[0]["y"], strict=True), key=_order)


def _order(point):
    return tuple((math.isnan(v), v if not math.isnan(v) else 0.0) for v in point)


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _close_points(mine, want) -> bool:
    if mine is None or len(mine) != len(want):
        return False
    return all(_same(a, c) and _same(b, d) for (a, b), (c, d) in zip(mine, want, strict=True))


def right_scatter():
    return scatter(ageing(similar()), rates(similar()))


def check_scatter(answer) -> Verdict:
    if not isinstance(answer, Figure):
        return Verdict.failed(
            'グラフを渡してください（check("q4", fig) の fig は plt.subplots() で作った図です）'
        )
    if answer.axes and not answer.axes[0]["lines"]:
        return Verdict.failed(
            '点が見つかりません。ax.plot(横の値, 縦の値, "o") のように、"o"（丸い点）で描いてください'
        )
    verdict = judge_figure(answer, right_scatter())
    if not verdict.ok:
        return verdict
    want = _points(right_scatter())
    if not _close_points(_points(answer), want):
        return Verdict.failed(
            "点の位置が違います。横に 65歳以上の割合（%）、縦に10万人あたりの診療所数をとりましょう"
        )
    return Verdict.passed()


def _all_municipalities():
    table = ssdse()
    return scatter(ageing(table), rates(table))


def _swapped():
    return scatter(rates(similar()), ageing(similar()))


def _counts_on_y():
    return scatter(ageing(similar()), similar()["一般診療所数"])


def _is_points(answer, expected):
    return _close_points(_points(answer), _points(expected))


QUESTIONS = [
    Question(
        "q1",
        expected=clinics,
        hints=[
            '焼津市の行は、地域コード "R22212" で選べます。列は「一般診療所数」です',
            "行と列を一度に選ぶには ssdse.loc[行, 列] と書きます",
            'ssdse.loc["R22212", "一般診療所数"] と書きます',
        ],
        mistakes=[
            Mistake(
                "「一般病院数」を選んでいます。この問題は診療所（「一般診療所数」の列）です",
                example=lambda: int(ssdse().loc[YAIZU, "一般病院数"]),
            ),
            Mistake(
                "「歯科診療所数」を選んでいます。歯科ではない「一般診療所数」の列を選びましょう",
                example=lambda: int(ssdse().loc[YAIZU, "歯科診療所数"]),
            ),
            Mistake(
                "数ではなく文字になっています。見出しが3行あるファイルを pd.read_csv でそのまま読むと、"
                "2・3行目の見出しがデータに混ざって、数の列が文字になります。load() で読み込んだ ssdse を使いましょう",
                example=lambda: str(clinics()),
                matches=lambda answer: isinstance(answer, str) and answer.strip().isdigit(),
            ),
            Mistake(
                "全国の合計になっています。焼津市の行（地域コード R22212）だけを選びましょう",
                example=lambda: int(ssdse()["一般診療所数"].sum()),
            ),
        ],
        snippets=['ssdse.loc["R22212", "一般診療所数"]'],
    ),
    Question(
        "q2",
        expected=rate,
        rel_tol=1e-6,
        hints=[
            "数（件数）は人口の多い市ほど大きくなります。人口で割ると、大きさの違う市どうしを比べられます",
            '「10万人あたり」は、診療所数 ÷ 総人口 に 100000 をかけた値です。総人口は ssdse.loc["R22212", "総人口"] です',
            'ssdse.loc["R22212", "一般診療所数"] / ssdse.loc["R22212", "総人口"] * 100000 と書きます',
        ],
        mistakes=[
            Mistake(
                "診療所の数（件数）のままです。人口の多い市ほど数も多くなるので、総人口で割って"
                "人口10万人あたりにしましょう",
                example=clinics,
            ),
            Mistake(
                "1人あたりの値になっています（小さすぎます）。10万人あたりにするには 100000 をかけます",
                example=lambda: rate() / PER,
            ),
            Mistake(
                "1万人あたりになっています。この問題は 10万人あたり（100000 をかける）です",
                example=lambda: rate() / 10,
            ),
            Mistake(
                "割る向きが逆です（人口 ÷ 診療所数 は「診療所1か所あたりの人口」です）。"
                "診療所数 ÷ 総人口 × 100000 にしましょう",
                example=lambda: ssdse().loc[YAIZU, "総人口"] / ssdse().loc[YAIZU, "一般診療所数"],
            ),
        ],
        snippets=['ssdse.loc["R22212", "一般診療所数"] / ssdse.loc["R22212", "総人口"] * 100000'],
    ),
    Question(
        "q3",
        expected=lambda: rates(similar()).median(),
        rel_tol=1e-6,
        hints=[
            "比べる相手の similar（総人口 10万人以上 20万人未満）は、問題文のすぐ下のセルで選んであります。この similar だけを使います",
            "similar の一般診療所数 ÷ 総人口 × 100000 で、10万人あたりの列ができます。中央値は .median() です",
            '(similar["一般診療所数"] / similar["総人口"] * 100000).median() と書きます',
        ],
        mistakes=[
            Mistake(
                "全国すべての市区町村の中央値です。人口が同じくらい（10万〜20万人）の similar だけで計算しましょう",
                example=lambda: rates(ssdse()).median(),
            ),
            Mistake(
                "平均になっています。飛び抜けた市に引っぱられにくい中央値（.median()）を使いましょう",
                example=lambda: rates(similar()).mean(),
            ),
            Mistake(
                "診療所の数（件数）の中央値です。10万人あたりの率にしてから中央値をとりましょう",
                example=lambda: similar()["一般診療所数"].median(),
            ),
        ],
        snippets=['(similar["一般診療所数"] / similar["総人口"] * 100000).median()'],
    ),
    Question(
        "q4",
        check=check_scatter,
        hints=[
            "横軸は similar の 65歳以上人口 ÷ 総人口 × 100、縦軸は 10万人あたりの一般診療所数です",
            'ax.plot(横の値, 縦の値, "o") で点を描き、ax.set_title・ax.set_xlabel・ax.set_ylabel で日本語の題と軸名をつけます',
            'ax.plot(similar["65歳以上人口"] / similar["総人口"] * 100, '
            'similar["一般診療所数"] / similar["総人口"] * 100000, "o") のあと、'
            'ax.set_title("類似団体の高齢化率と診療所") のように題と軸名をつけます',
        ],
        mistakes=[
            Mistake(
                "全国の市区町村をすべて描いています。比べる相手は人口が同じくらいの similar だけにしましょう",
                example=_all_municipalities,
                matches=lambda answer: _is_points(answer, _all_municipalities()),
            ),
            Mistake(
                "横と縦が逆です。横軸を 65歳以上の割合、縦軸を10万人あたりの診療所数にしましょう",
                example=_swapped,
                matches=lambda answer: _is_points(answer, _swapped()),
            ),
            Mistake(
                "縦軸が診療所の数（件数）のままです。10万人あたりの率にしましょう",
                example=_counts_on_y,
                matches=lambda answer: _is_points(answer, _counts_on_y()),
            ),
        ],
        snippets=[
            "(fig := plt.figure(), ax := fig.add_subplot(), "
            'ax.plot(similar["65歳以上人口"] / similar["総人口"] * 100, '
            'similar["一般診療所数"] / similar["総人口"] * 100000, "o"), '
            'ax.set_title("類似団体の高齢化率と診療所"), ax.set_xlabel("65歳以上の割合（%）"), '
            'ax.set_ylabel("人口10万人あたり一般診療所数"))[0]'
        ],
    ),
    Question(
        "q5",
        expected=correlation,
        rel_tol=1e-6,
        hints=[
            "相関係数は -1 から 1 の数で、2つの列がどのくらい一緒に動くかを表します",
            "縦の値（Series）.corr(横の値（Series）) で計算できます。どちらも similar から作ります",
            '(similar["一般診療所数"] / similar["総人口"] * 100000).corr(similar["65歳以上人口"] / similar["総人口"] * 100) と書きます',
        ],
        mistakes=[
            Mistake(
                "全国の市区町村で計算しています。問4と同じ similar（類似団体）で計算しましょう",
                example=lambda: rates(ssdse()).corr(ageing(ssdse())),
            ),
            Mistake(
                "診療所の数（件数）との相関です。10万人あたりの率と、65歳以上の割合の相関を求めましょう",
                example=lambda: similar()["一般診療所数"].corr(ageing(similar())),
            ),
            Mistake(
                "65歳以上の人数（割合ではなく人数）との相関です。人口で割った割合（%）を使いましょう",
                example=lambda: rates(similar()).corr(similar()["65歳以上人口"]),
            ),
        ],
        snippets=[
            '(similar["一般診療所数"] / similar["総人口"] * 100000)'
            '.corr(similar["65歳以上人口"] / similar["総人口"] * 100)'
        ],
    ),
]
