"""Checks of 課題2「自治体の CSV を正しく読む」 (exercises/opendata-intro/read-csv).

What each check expects from the notebook:

    check("q1", read_population())   # 砂場市 (fictional) population, CP932, 地域コード as text
    check("q2", [hankaku(s) for s in ["０９９０－２０－３６９６", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]])
    check("q3", read_facilities())   # 焼津市 要配慮者利用施設: genuine CP932, quoted line breaks
    check("q4", facility_count)      # the number of facilities (records, not lines)

q1 asks for 地域コード as text and says nothing about 町字ID, a column left empty in the file:
an empty column has no values to get wrong, so it may come back in any type.
"""

import pandas as pd

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Tolerance, Verdict, judge
from sunaba.checks.wire import decode_answer, encode_answer
from sunaba.datasets import Catalogue, normalize_text, read_csv_ja

HANKAKU_INPUTS = ["０９９０－２０－３６９６", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]


def as_sent(value):
    """A value as the check service receives it from a learner's kernel."""
    return decode_answer(encode_answer(value))


def _path(dataset: str, resource: str):
    catalogue = Catalogue()
    entry = catalogue.get(dataset)
    return catalogue.find_file(entry, entry.resource(resource))


def population(**options):
    options.setdefault("dtype", {"地域コード": str})
    return as_sent(read_csv_ja(_path("sunaba-city", "population"), quiet=True, **options))


def facilities(**options):
    return as_sent(
        read_csv_ja(_path("yaizu-yohairyosya-cp932", "facilities"), quiet=True, **options)
    )


def _without_empty_columns(answer, expected):
    empty = [
        column
        for column in expected.columns
        if column in answer.columns
        and expected[column].isna().all()
        and answer[column].isna().all()
    ]
    return answer.drop(columns=empty), expected.drop(columns=empty)


def judge_population(answer) -> Verdict:
    expected = population()
    if isinstance(answer, pd.DataFrame):
        answer, expected = _without_empty_columns(answer, expected)
    return judge(answer, expected, Tolerance())


def _column_is(answer, column, test) -> bool:
    return isinstance(answer, pd.DataFrame) and column in answer.columns and test(answer[column])


def _lines_of_file() -> int:
    text = _path("yaizu-yohairyosya-cp932", "facilities").read_bytes().decode("cp932")
    return len(text.splitlines())


QUESTIONS = [
    Question(
        "q1",
        check=judge_population,
        hints=[
            "このファイルは CP932（Shift_JIS）で保存されています。文字コードを判定して読む"
            " read_csv_ja を使いましょう",
            "地域コードは「001」のように先頭の 0 に意味があります。数値にせず文字列で読むよう、"
            'dtype={"地域コード": str} を付けます',
            'return のあとに read_csv_ja(PATH, dtype={"地域コード": str}) と書きます',
        ],
        mistakes=[
            Mistake(
                "地域コードが数値として読まれ、先頭の 0 が消えています。"
                'dtype={"地域コード": str} を付けて文字列として読みましょう',
                example=lambda: population(dtype=None),
                matches=lambda answer: _column_is(
                    answer, "地域コード", pd.api.types.is_numeric_dtype
                ),
            ),
            Mistake(
                "すべての列を文字列にしています。世帯数などの数の列は数値のまま計算に使えるようにし、"
                "文字列にするのは地域コードだけにしましょう",
                example=lambda: population(dtype=str),
                matches=lambda answer: _column_is(
                    answer, "世帯数", lambda column: not pd.api.types.is_numeric_dtype(column)
                ),
            ),
        ],
        snippets=[
            'read_csv_ja(PATH, dtype={"地域コード": str})',
            'read_csv_ja(PATH, dtype={"地域コード": str, "町字ID": str})',
        ],
    ),
    Question(
        "q2",
        expected=lambda: [normalize_text(s) for s in HANKAKU_INPUTS],
        hints=[
            "全角の数字・記号は半角に、半角カタカナは全角にそろえます",
            "sunaba.datasets の normalize_text が、この二つを一度に行います",
            "return のあとに normalize_text(text) と書きます",
        ],
        mistakes=[
            Mistake(
                "数字と記号は半角になりましたが、半角カタカナ（ｽﾅﾊﾞ）が残っています。"
                "カタカナは全角にそろえましょう",
                example=lambda: [
                    normalize_text(HANKAKU_INPUTS[0]),
                    HANKAKU_INPUTS[1],
                    HANKAKU_INPUTS[2],
                ],
            ),
            Mistake(
                "数字は半角になりましたが、ハイフンが全角の「－」のままです。記号も半角に"
                "そろえましょう",
                example=lambda: [
                    normalize_text(HANKAKU_INPUTS[0]).replace("-", "－"),
                    normalize_text(HANKAKU_INPUTS[1]),
                    HANKAKU_INPUTS[2],
                ],
            ),
        ],
        snippets=[f"[normalize_text(text) for text in {HANKAKU_INPUTS!r}]"],
    ),
    Question(
        "q3",
        expected=facilities,
        hints=[
            "焼津市のファイルも CP932 です。read_csv_ja なら文字コードを判定し、セルの中の"
            "改行も正しく 1 つのセルとして読みます",
            "この問では dtype を付ける必要はありません。番号や緯度・経度は数値のままにします",
            "return のあとに read_csv_ja(YAIZU) と書きます",
        ],
        mistakes=[
            Mistake(
                "すべての列を文字列にしています。番号（№）や緯度・経度は数値のまま読みましょう。"
                "dtype は先頭の 0 が大事な列にだけ使います",
                example=lambda: facilities(dtype=str),
                matches=lambda answer: _column_is(
                    answer, "緯度", lambda column: not pd.api.types.is_numeric_dtype(column)
                ),
            ),
            Mistake(
                "1 行目の見出しが、データの 1 行目として読まれています。header=None を付けずに"
                "読めば、1 行目が列名になります",
                example=lambda: facilities(header=None),
                matches=lambda answer: (
                    isinstance(answer, pd.DataFrame)
                    and "№" not in answer.columns
                    and (answer.iloc[:1] == "№").any(axis=None)
                ),
            ),
        ],
        snippets=["read_csv_ja(YAIZU)"],
    ),
    Question(
        "q4",
        expected=lambda: len(facilities()),
        hints=[
            "施設は表の 1 行に 1 つです。ファイルの行数ではなく、読み込んだ表の行数を数えます",
            "read_csv_ja で読んだ表なら、セルの中の改行は 1 つのセルの中に収まっています。"
            "len(表) が施設の数です",
            "facility_count = のあとに len(read_csv_ja(YAIZU)) と書きます",
        ],
        mistakes=[
            Mistake(
                "ファイルの行数から見出しの 1 行を引いた数です。セルの中の改行まで 1 行に数えて"
                "しまっています。読み込んだ表の行数を数えましょう",
                example=lambda: _lines_of_file() - 1,
            ),
            Mistake(
                "ファイルの行数そのものです。見出しの行と、セルの中の改行まで数えています。"
                "読み込んだ表の行数を数えましょう",
                example=_lines_of_file,
            ),
            Mistake(
                "施設名の種類の数です。同じ名前の施設が別の場所にあるので、名前の種類では"
                "施設の数より少なくなります",
                example=lambda: int(facilities()["要配慮者利用施設名称"].nunique()),
            ),
        ],
        snippets=["len(read_csv_ja(YAIZU))"],
    ),
]
