"""Checks of 課題1「操作できる表とグラフ」 (exercises/prototyping/widgets).

What each check expects from the notebook:

    check("q1", names)                                  # the dropdown's choices
    check("q2", occupancy_of(SHELTER))                  # one shelter's 人数 over 時点
    check("q3", make_chart(SHELTER))                    # its line chart (figure checks)
    check("q4", {"選択肢": list(dropdown.options), "説明": dropdown.description,
                 "最初の値": dropdown.value})
    check("q5", month_summary(3))                       # the table the month slider shows
    check("q6", {"最小": slider.min, "最大": slider.max, "説明": slider.description})

The same questions back `assert_check` in the autograder; the hidden tests stay stricter.
"""

import re
from functools import cache

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict, judge, judge_figure
from sunaba.checks.wire import Figure, decode_answer, encode_answer
from sunaba.datasets import load

SHELTER = "矢田郷地区コミュニティセンター"
MONTH = 3
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@cache
def shelters() -> pd.DataFrame:
    """The notebook's `shelters`: every file stacked, the first file's 時点 and 人数 filled."""
    history = load("nanao-shelters", "history-*")
    first = history["時点"].isna()
    history.loc[first, "時点"] = pd.Timestamp("2024-01-09 18:00")
    history.loc[first, "人数"] = history.loc[first, "人数_令和6年1月9日午後6時時点"]
    return history[["名称", "地区", "時点", "人数"]]


@cache
def names() -> list[str]:
    return sorted(shelters()["名称"].unique())


@cache
def occupancy() -> pd.Series:
    table = shelters()
    return table[table["名称"] == SHELTER].set_index("時点")["人数"]


@cache
def month_max(month: int = MONTH, how: str = "max") -> pd.Series:
    table = shelters()
    in_month = table[table["時点"].dt.month == month]
    return in_month.groupby("名称")["人数"].agg(how).sort_values(ascending=False)


# -- q3: the chart -------------------------------------------------------------------------------


def _figure(draw) -> Figure:
    """A chart drawn by `draw(ax)`, described as the check service receives it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    try:
        draw(ax)
        return decode_answer(encode_answer(fig))
    finally:
        plt.close(fig)


def _model_chart(ax, title=f"{SHELTER} の避難者数", xlabel="時点", ylabel="避難者数（人）"):
    series = occupancy()
    ax.plot(series.index, series.to_numpy(dtype=float))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _every_shelter_chart(ax):
    table = shelters()
    for _, group in table.groupby("名称"):
        ax.plot(group["時点"], group["人数"].to_numpy(dtype=float))
    ax.set_title("避難者数")
    ax.set_xlabel("時点")
    ax.set_ylabel("避難者数（人）")


def _first_axes(answer) -> dict | None:
    if isinstance(answer, Figure) and answer.axes:
        return answer.axes[0]
    return None


def _english_labels(answer) -> bool:
    axes = _first_axes(answer)
    if axes is None:
        return False
    labels = [axes.get("xlabel") or "", axes.get("ylabel") or ""]
    return any(labels) and not all(JAPANESE.search(text) for text in labels)


def _many_lines(answer) -> bool:
    axes = _first_axes(answer)
    return axes is not None and len(axes.get("lines") or []) > 1


def _untitled_by_name(answer) -> bool:
    axes = _first_axes(answer)
    return axes is not None and bool(axes.get("title")) and SHELTER not in axes["title"]


WANTED = Figure({"axes": [{"title": "t", "xlabel": "x", "ylabel": "y", "lines": [{}]}]})


def check_chart(answer) -> Verdict:
    verdict = judge_figure(answer, WANTED)
    if not verdict.ok:
        return verdict
    axes = answer.axes[0]
    messages = []
    if not (JAPANESE.search(axes["xlabel"]) and JAPANESE.search(axes["ylabel"])):
        messages.append("軸のラベルは日本語で書きましょう（例: 横軸は時点、縦軸は避難者数と単位）")
    if SHELTER not in axes["title"]:
        messages.append(
            "タイトルに避難所の名前を入れましょう。どの避難所のグラフか一目で分かります"
        )
    expected = [float(v) for v in occupancy()]
    if not judge(axes["lines"][0]["y"], expected).ok:
        messages.append(
            "線の値が、その避難所の避難者数と合いません。occupancy_of(name) の結果を描いていますか"
        )
    return Verdict.failed(*messages) if messages else Verdict.passed()


# -- q5: the month table -------------------------------------------------------------------------


def _as_dict(series) -> dict:
    return {str(k): float(v) for k, v in series.items()}


def _same_numbers(answer, expected: pd.Series) -> bool:
    return isinstance(answer, pd.Series) and judge(_as_dict(answer), _as_dict(expected)).ok


def _descending(series: pd.Series) -> bool:
    values = series.astype("float64").to_numpy()
    return bool((values[:-1] >= values[1:]).all())


def check_month(answer) -> Verdict:
    if not isinstance(answer, pd.Series):
        if isinstance(answer, pd.DataFrame):
            return Verdict.failed(
                "表（DataFrame）になっています。人数の列を選んでから集計すると Series になります"
            )
        return Verdict.failed("答えの種類が違います。列（Series）を求めています")
    expected = month_max()
    mine = _as_dict(answer)
    if set(mine) != set(_as_dict(expected)):
        return Verdict.failed(
            f"避難所の数が違います（あなたの答えは {len(mine)} か所）。"
            "その月に開いていた避難所ごとに 1 行にしましょう"
        )
    if not _same_numbers(answer, expected):
        return Verdict.failed("避難所ごとの人数が違います。その月の中で一番多かった人数ですか")
    if not _descending(answer):
        return Verdict.failed("人数の多い順に並べましょう")
    return Verdict.passed()


def _not_sorted(answer) -> bool:
    return _same_numbers(answer, month_max()) and not _descending(answer)


# -- q6: the slider ------------------------------------------------------------------------------


@cache
def _months() -> tuple[int, int]:
    months = shelters()["時点"].dt.month
    return int(months.min()), int(months.max())


QUESTIONS = [
    Question(
        "q1",
        expected=names,
        hints=[
            "shelters の「名称」の列から、同じ名前を 1 回ずつにして、並べ替えます",
            "重複をなくすのは .unique()、並べ替えてリストにするのは sorted(...) です",
            'sorted(shelters["名称"].unique()) と書きます',
        ],
        mistakes=[
            Mistake(
                "同じ避難所の名前が何度も入っています。時点ごとに 1 行あるためです。"
                ".unique() で 1 回ずつにしましょう",
                example=lambda: list(shelters()["名称"]),
                matches=lambda a: isinstance(a, list) and len(a) > len(set(map(str, a))),
            ),
            Mistake(
                "名前はそろっていますが、並んでいません。sorted(...) で並べると、"
                "ドロップダウンで探しやすくなります",
                example=lambda: list(shelters()["名称"].unique()),
                matches=lambda a: isinstance(a, list) and set(a) == set(names()) and a != names(),
            ),
            Mistake(
                "地区の名前になっています。選ぶのは避難所なので「名称」の列を使いましょう",
                example=lambda: sorted(shelters()["地区"].unique()),
                matches=lambda a: (
                    isinstance(a, list) and bool(a) and set(a) <= set(shelters()["地区"])
                ),
            ),
        ],
        snippets=['sorted(shelters["名称"].unique())'],
    ),
    Question(
        "q2",
        expected=occupancy,
        hints=[
            "まず、名称がその避難所の行だけに絞り込みます（比較の == を使います）",
            "グラフの横軸にするため、時点を行の見出し（インデックス）にして、人数の列だけを取り出します",
            'shelters[shelters["名称"] == name].set_index("時点")["人数"] と書きます',
        ],
        mistakes=[
            Mistake(
                "表（DataFrame）のままです。人数の列だけを取り出して、列（Series）にしましょう",
                example=lambda: shelters()[shelters()["名称"] == SHELTER].set_index("時点"),
                matches=lambda a: isinstance(a, pd.DataFrame),
            ),
            Mistake(
                "行の見出し（インデックス）が 0, 1, 2… の番号です。"
                'set_index("時点") で時点を見出しにすると、グラフの横軸が日付になります',
                example=lambda: occupancy().reset_index(drop=True),
                matches=lambda a: (
                    isinstance(a, pd.Series)
                    and not pd.api.types.is_datetime64_any_dtype(a.index)
                    and len(a) == len(occupancy())
                ),
            ),
            Mistake(
                "全部の避難所の合計になっています。名称で一つの避難所に絞り込んでから取り出しましょう",
                example=lambda: shelters().groupby("時点")["人数"].sum(),
                matches=lambda a: (
                    isinstance(a, pd.Series)
                    and len(a) == shelters()["時点"].nunique()
                    and judge(_as_dict(a), _as_dict(shelters().groupby("時点")["人数"].sum())).ok
                ),
            ),
        ],
        snippets=[f'shelters[shelters["名称"] == "{SHELTER}"].set_index("時点")["人数"]'],
    ),
    Question(
        "q3",
        check=check_chart,
        hints=[
            "plt.subplots() で図（fig）と軸（ax）を作り、ax.plot(横軸, 縦軸) で線を描きます",
            "series = occupancy_of(name) の series.index（時点）を横軸に、series（人数）を縦軸にします。"
            "ax.set_title, ax.set_xlabel, ax.set_ylabel で日本語の文字を付けます",
            'タイトルは f"{name} の避難者数" のように、選んだ避難所の名前を入れます。'
            "最後に return fig を忘れずに",
        ],
        mistakes=[
            Mistake(
                "軸のラベルが英語か記号です。課長がすぐ読めるよう、"
                "日本語で「時点」「避難者数（人）」のように書きましょう",
                example=lambda: _figure(
                    lambda ax: _model_chart(ax, xlabel="date", ylabel="people")
                ),
                matches=_english_labels,
            ),
            Mistake(
                "線が何本も描かれています。表全体や全部の避難所ではなく、"
                "occupancy_of(name) で選んだ一つの避難所だけを描きましょう",
                example=lambda: _figure(_every_shelter_chart),
                matches=_many_lines,
            ),
            Mistake(
                "タイトルに避難所の名前がありません。ドロップダウンで選び直したとき、"
                'どの避難所のグラフか分かるように f"{name} の避難者数" のようにしましょう',
                example=lambda: _figure(lambda ax: _model_chart(ax, title="避難者数の推移")),
                matches=_untitled_by_name,
            ),
        ],
        snippets=[
            "(lambda series: (lambda fig, ax: (ax.plot(series.index, series.to_numpy(dtype=float)), "
            f'ax.set_title("{SHELTER} の避難者数"), ax.set_xlabel("時点"), '
            'ax.set_ylabel("避難者数（人）"), fig)[-1])(*plt.subplots(figsize=(8, 4))))'
            f'(shelters[shelters["名称"] == "{SHELTER}"].set_index("時点")["人数"])'
        ],
    ),
    Question(
        "q4",
        expected=lambda: {"選択肢": names(), "説明": "避難所", "最初の値": SHELTER},
        hints=[
            "widgets.Dropdown(options=…, value=…, description=…) で作ります",
            "options には問1の names を、description には画面に出る文字「避難所」を渡します",
            f'widgets.Dropdown(options=names, value="{SHELTER}", description="避難所") と書きます',
        ],
        mistakes=[
            Mistake(
                "選択肢に同じ避難所が何度も出てきます。options には問1の names を渡しましょう",
                example=lambda: {
                    "選択肢": list(shelters()["名称"]),
                    "説明": "避難所",
                    "最初の値": SHELTER,
                },
                matches=lambda a: (
                    isinstance(a, dict)
                    and isinstance(a.get("選択肢"), list)
                    and len(a["選択肢"]) > len(set(map(str, a["選択肢"])))
                ),
            ),
            Mistake(
                "最初に選ばれている避難所（value）が違います。"
                "一番長く開いていた避難所を、value= で最初から選んでおきましょう",
                example=lambda: {"選択肢": names(), "説明": "避難所", "最初の値": names()[0]},
                matches=lambda a: (
                    isinstance(a, dict)
                    and a.get("選択肢") == names()
                    and a.get("最初の値") != SHELTER
                ),
            ),
            Mistake(
                "ドロップダウンの横に出る説明（description）が違います。"
                "画面を見る人に何を選ぶ部品かが伝わるよう、日本語の短い言葉にしましょう",
                example=lambda: {"選択肢": names(), "説明": "name", "最初の値": SHELTER},
                matches=lambda a: (
                    isinstance(a, dict)
                    and a.get("選択肢") == names()
                    and a.get("最初の値") == SHELTER
                    and a.get("説明") != "避難所"
                ),
            ),
        ],
        snippets=[
            f'(lambda d: {{"選択肢": list(d.options), "説明": d.description, "最初の値": d.value}})'
            f'(widgets.Dropdown(options=sorted(shelters["名称"].unique()), value="{SHELTER}", '
            f'description="避難所"))'
        ],
    ),
    Question(
        "q5",
        check=check_month,
        hints=[
            'まず、その月の行だけに絞り込みます。時点の月は shelters["時点"].dt.month で取れます',
            '避難所ごとにまとめるのは groupby("名称")、その月で一番多い人数は .max()、'
            "多い順に並べるのは .sort_values(ascending=False) です",
            'in_month = shelters[shelters["時点"].dt.month == month] として、'
            'in_month.groupby("名称")["人数"].max().sort_values(ascending=False) を返します',
        ],
        mistakes=[
            Mistake(
                "その月の人数を足し合わせています。同じ避難所を何回も数えているので、"
                "合計（sum）ではなく一番多かった人数（max）にしましょう",
                example=lambda: month_max(how="sum"),
                matches=lambda a: _same_numbers(a, month_max(how="sum")),
            ),
            Mistake(
                "数はそろっていますが、多い順に並んでいません。"
                ".sort_values(ascending=False) で大きい順にしましょう",
                example=lambda: month_max().sort_index(),
                matches=_not_sorted,
            ),
            Mistake(
                "ほかの月の行も入っています。"
                'shelters["時点"].dt.month == month で、その月の行だけに絞り込みましょう',
                example=lambda: (
                    shelters().groupby("名称")["人数"].max().sort_values(ascending=False)
                ),
                matches=lambda a: _same_numbers(a, shelters().groupby("名称")["人数"].max()),
            ),
        ],
        snippets=[
            f'shelters[shelters["時点"].dt.month == {MONTH}].groupby("名称")["人数"].max()'
            ".sort_values(ascending=False)"
        ],
    ),
    Question(
        "q6",
        expected=lambda: {"最小": _months()[0], "最大": _months()[1], "説明": "月"},
        hints=[
            "widgets.IntSlider(min=…, max=…, value=…, description=…) で作ります",
            "データは 2024年1月から 9月2日までです。"
            'min と max はデータにある月にしましょう（shelters["時点"].dt.month.max() で確かめられます）',
            'widgets.IntSlider(min=1, max=int(shelters["時点"].dt.month.max()), value=1, '
            'description="月") と書きます',
        ],
        mistakes=[
            Mistake(
                "データにない月まで選べます。データの最後の時点より後の月を選ぶと、"
                "空の表が出てしまいます。max はデータにある最後の月にしましょう",
                example=lambda: {"最小": 1, "最大": 12, "説明": "月"},
                matches=lambda a: isinstance(a, dict) and _over(a.get("最大")),
            ),
            Mistake(
                "0 月はありません。月は 1 から始めましょう",
                example=lambda: {"最小": 0, "最大": _months()[1], "説明": "月"},
                matches=lambda a: isinstance(a, dict) and a.get("最小") == 0,
            ),
        ],
        snippets=[
            '(lambda s: {"最小": s.min, "最大": s.max, "説明": s.description})'
            '(widgets.IntSlider(min=1, max=9, value=1, description="月"))',
            '(lambda s: {"最小": s.min, "最大": s.max, "説明": s.description})'
            '(widgets.IntSlider(min=1, max=int(shelters["時点"].dt.month.max()), value=1, '
            'description="月"))',
        ],
    ),
]


def _over(value) -> bool:
    return isinstance(value, int) and value > _months()[1]
