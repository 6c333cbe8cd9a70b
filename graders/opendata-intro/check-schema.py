"""Checks of 課題4「標準データセットで点検して直す」 (exercises/opendata-intro/check-schema).

The file is checked against the real standard, 自治体標準オープンデータセット「指定緊急避難場所一覧」
(sunaba.datasets.standards), not the relaxed schema of the 砂場市 catalogue entry: only the
standard finds the ○/△ written in 災害種別_洪水 where it asks for 1 or an empty cell.

What each check expects from the notebook:

    check("q1", problem_columns(shelters))
    check("q2", problem_rows(shelters))
    check("q3", fix_shelters(shelters))

q3 accepts every fix that the standard schema finds no problem with, that keeps the rows and
columns, that turns ○ into 1 and does not turn △ (usable only in part) into 1.
"""

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict
from sunaba.datasets import load, normalize_text, validate

SCHEMA = "指定緊急避難場所一覧"
RELAXED = "sunaba-city/shelters"
FLOOD = "災害種別_洪水"


def shelters():
    return load("sunaba-city", "shelters", raw=True)


def problem_columns(schema=SCHEMA):
    return sorted(set(validate(shelters(), schema)["列"]))


def problem_rows(schema=SCHEMA):
    return int(validate(shelters(), schema)["行"].nunique())


def _rows_marked(mark):
    original = shelters()
    return original.index[original[FLOOD] == mark]


def _flood(answer, rows):
    return [str(value).strip() for value in answer.loc[rows, FLOOD]]


def fixed_shelters(answer) -> Verdict:
    if not isinstance(answer, pd.DataFrame):
        return Verdict.failed("表（DataFrame）を返してください")
    original = shelters()
    if len(answer) != len(original):
        return Verdict.failed(
            f"行の数が変わっています（あなたの表は {len(answer)} 行、元の表は {len(original)} 行）"
        )
    missing = [c for c in original.columns if c not in answer.columns]
    if missing:
        return Verdict.failed("列がなくなっています: " + "、".join(missing))
    remaining = validate(answer, SCHEMA)
    if not remaining.empty:
        columns = sorted(set(remaining["列"]))
        return Verdict.failed(
            f"点検でまだ {len(remaining)} 件の問題が見つかります（列: {'、'.join(columns)}）",
            "validate(直した表, SCHEMA) で、どの行のどの値かを確かめましょう",
        )
    answer = answer.set_axis(original.index)
    if any(value != "1" for value in _flood(answer, _rows_marked("○"))):
        return Verdict.failed("災害種別_洪水で ○ だった行が 1 になっていません")
    if any(value == "1" for value in _flood(answer, _rows_marked("△"))):
        return Verdict.failed("災害種別_洪水で △ だった行を 1 にしています")
    return Verdict.passed()


def model_fix():
    fixed = shelters()
    fixed["想定収容人数"] = fixed["想定収容人数"].str.replace(",", "", regex=False)
    fixed["標高"] = normalize_text(fixed["標高"])
    latitude = pd.to_numeric(fixed["緯度"])
    longitude = pd.to_numeric(fixed["経度"])
    swapped = latitude > longitude
    fixed.loc[swapped, ["緯度", "経度"]] = fixed.loc[swapped, ["経度", "緯度"]].to_numpy()
    return fixed


def with_flood(mapping):
    fixed = model_fix()
    fixed[FLOOD] = fixed[FLOOD].replace(mapping)
    return fixed


def _has_marks(answer) -> bool:
    return (
        isinstance(answer, pd.DataFrame)
        and FLOOD in answer.columns
        and answer[FLOOD].isin(["○", "△"]).any()
    )


def _list_with_duplicates(answer) -> bool:
    return isinstance(answer, list) and len(answer) != len(set(answer))


def _same_names_other_order(answer) -> bool:
    expected = problem_columns()
    return isinstance(answer, list) and answer != expected and sorted(answer) == expected


QUESTIONS = [
    Question(
        "q1",
        expected=problem_columns,
        hints=[
            "validate(shelters, SCHEMA) の結果の表に、問題のあった「列」の列があります",
            "同じ列名が何度も出てきます。set で重複をなくし、sorted で名前順にします",
            'return のあとに sorted(set(validate(df, SCHEMA)["列"])) と書きます',
        ],
        mistakes=[
            Mistake(
                "砂場市のカタログの定義（sunaba-city/shelters）で点検した結果です。この定義は"
                "ゆるく、記号の問題を見つけません。標準データセットの定義 SCHEMA で点検しましょう",
                example=lambda: problem_columns(RELAXED),
            ),
            Mistake(
                "同じ列名が何度も入っています。set で重複をなくしてから sorted で並べましょう",
                example=lambda: list(validate(shelters(), SCHEMA)["列"]),
                matches=_list_with_duplicates,
            ),
            Mistake(
                "列名はそろっていますが、名前順になっていません。sorted で並べましょう",
                example=lambda: sorted(problem_columns(), reverse=True),
                matches=_same_names_other_order,
            ),
        ],
        snippets=[
            'sorted(set(validate(shelters, SCHEMA)["列"]))',
            '[sorted(set(validate(df, SCHEMA)["列"])) for df in [shelters]][0]',
        ],
    ),
    Question(
        "q2",
        expected=problem_rows,
        hints=[
            "結果の表の「行」の列が、問題のあったファイルの行番号です。1 つの行に問題が 2 つ"
            "あると、同じ行番号が 2 回出てきます",
            '.nunique() は、重なりを除いた値の種類の数を数えます。validate(df, SCHEMA)["行"] に'
            "使います",
            'return のあとに validate(df, SCHEMA)["行"].nunique() と書きます',
        ],
        mistakes=[
            Mistake(
                "問題の件数を数えています。1 つの行に問題が 2 つある行（緯度と経度の入れ替わり）"
                "があるので、行の数は件数より少なくなります。nunique() で行番号の種類を数えましょう",
                example=lambda: len(validate(shelters(), SCHEMA)),
            ),
            Mistake(
                "砂場市のカタログの定義（sunaba-city/shelters）で点検した結果です。記号の問題の"
                "ある行が入っていません。標準データセットの定義 SCHEMA で点検しましょう",
                example=lambda: problem_rows(RELAXED),
            ),
        ],
        snippets=[
            'validate(shelters, SCHEMA)["行"].nunique()',
            '[validate(df, SCHEMA)["行"].nunique() for df in [shelters]][0]',
        ],
    ),
    Question(
        "q3",
        check=fixed_shelters,
        hints=[
            "まず df.copy() で新しい表を作り、元の表は変えないようにします。直すのは"
            "想定収容人数、標高、緯度・経度、災害種別_洪水の 4 か所です",
            'カンマは .str.replace(",", "", regex=False) で、全角の数字は normalize_text で'
            "直せます。緯度が経度より大きい行が入れ替わっている行です。pd.to_numeric で数に"
            "してから比べ、その行の 2 つの値を入れ替えます",
            '災害種別_洪水は .replace({"○": "1", "△": ""}) で、○ を 1 に、△ を空欄に'
            "します（△ は担当課に確かめるまで案内しません）",
        ],
        mistakes=[
            Mistake(
                "災害種別_洪水に ○ や △ が残っています。標準データセットでは、記号ではなく"
                "「1」（使える）か空欄（使えない）で書きます",
                example=model_fix,
                matches=_has_marks,
            ),
            Mistake(
                "災害種別_洪水で ○ だった行が 1 になっていません。○ は「洪水のときに使える」"
                "という印なので、1 にしましょう",
                example=lambda: with_flood({"○": "", "△": ""}),
            ),
            Mistake(
                "災害種別_洪水で △ だった行を 1 にしています。△ は「一部だけ使える」という"
                "意味で、洪水の避難場所として案内してよいかは分かりません。担当課に確かめる"
                "までは空欄にしましょう",
                example=lambda: with_flood({"○": "1", "△": "1"}),
            ),
        ],
        snippets=[
            "[df.copy().assign("
            '想定収容人数=df["想定収容人数"].str.replace(",", "", regex=False), '
            '標高=normalize_text(df["標高"]), '
            '緯度=df[["緯度", "経度"]].apply(pd.to_numeric).min(axis=1).astype(str), '
            '経度=df[["緯度", "経度"]].apply(pd.to_numeric).max(axis=1).astype(str), '
            '災害種別_洪水=df["災害種別_洪水"].replace({"○": "1", "△": ""})'
            ") for df in [shelters]][0]",
        ],
    ),
]
