"""Checks of 課題2「標準データセットで点検して直す」 (exercises/opendata-intro/check-schema).

What each check expects from the notebook:

    check("q1", problem_columns(shelters))
    check("q2", fix_shelters(shelters))

q2 accepts every fix that the standard schema finds no problem with and that keeps the rows,
rather than one particular way of writing the numbers.
"""

from sunaba.checks.grader import Question
from sunaba.checks.judge import Verdict
from sunaba.datasets import load, validate

SCHEMA = "sunaba-city/shelters"


def problem_columns():
    shelters = load("sunaba-city", "shelters", raw=True)
    return sorted(set(validate(shelters, SCHEMA)["列"]))


def fixed_shelters(answer) -> Verdict:
    import pandas as pd

    if not isinstance(answer, pd.DataFrame):
        return Verdict.failed("表（DataFrame）を返してください")
    original = load("sunaba-city", "shelters", raw=True)
    if len(answer) != len(original):
        return Verdict.failed(
            f"行の数が変わっています（あなたの表は {len(answer)} 行、元の表は {len(original)} 行）"
        )
    missing = [c for c in original.columns if c not in answer.columns]
    if missing:
        return Verdict.failed("列がなくなっています: " + "、".join(missing))
    remaining = validate(answer, SCHEMA)
    if remaining.empty:
        return Verdict.passed()
    columns = sorted(set(remaining["列"]))
    return Verdict.failed(
        f"点検でまだ {len(remaining)} 件の問題が見つかります（列: {'、'.join(columns)}）",
        "validate(直した表, SCHEMA) で、どの行のどの値かを確かめましょう",
    )


QUESTIONS = [
    Question(
        "q1",
        expected=problem_columns,
        hints=[
            "validate(shelters, SCHEMA) の結果の表に、問題のあった「列」の列があります",
            "同じ列名が何度も出てきます。set で重複をなくし、sorted で名前順にします",
            'sorted(set(validate(df, SCHEMA)["列"])) と書きます',
        ],
    ),
    Question(
        "q2",
        check=fixed_shelters,
        hints=[
            "まず df.copy() で新しい表を作り、元の表は変えないようにします",
            "カンマは str.replace で、全角の数字は normalize_text で直せます",
            "緯度が経度より大きい行が、入れ替わっている行です。"
            'fixed.loc[行, ["緯度", "経度"]] に入れ替えた値を入れます',
        ],
    ),
]
