"""Checks of 課題1「自治体の CSV を正しく読む」 (exercises/opendata-intro/read-csv).

What each check expects from the notebook:

    check("q1", read_population())
    check("q2", [hankaku(s) for s in ["０９９０－２０－３６９６", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]])
    check("q3", [seireki(s) for s in ["令和6年4月1日", "平成31年4月30日", "令和元年5月1日"]])

The same questions back `assert_check` in the autograder; the hidden tests stay stricter.
"""

from sunaba.checks.grader import Question
from sunaba.datasets import Catalogue, normalize_text, parse_wareki, read_csv_ja

HANKAKU_INPUTS = ["０９９０－２０－３６９６", "ｽﾅﾊﾞｼﾔｸｼｮ", "砂場市役所"]
WAREKI_INPUTS = ["令和6年4月1日", "平成31年4月30日", "令和元年5月1日"]


def population():
    catalogue = Catalogue()
    city = catalogue.get("sunaba-city")
    path = catalogue.find_file(city, city.resource("population"))
    return read_csv_ja(path, dtype={"地域コード": str, "町字ID": str}, quiet=True)


QUESTIONS = [
    Question(
        "q1",
        expected=population,
        hints=[
            "このファイルは CP932（Shift_JIS）で保存されています。文字コードを判定して読む"
            " read_csv_ja を使いましょう",
            "地域コードと町字ID は「001」のように先頭の 0 に意味があります。数値にせず文字列で"
            "読みましょう",
            'read_csv_ja(PATH, dtype={"地域コード": str, "町字ID": str}) と書きます',
        ],
    ),
    Question(
        "q2",
        expected=lambda: [normalize_text(s) for s in HANKAKU_INPUTS],
        hints=[
            "全角の数字・記号は半角に、半角カタカナは全角にそろえます",
            "sunaba.datasets の normalize_text が、この二つを一度に行います",
            "return normalize_text(text) と書きます",
        ],
    ),
    Question(
        "q3",
        expected=lambda: [parse_wareki(s) for s in WAREKI_INPUTS],
        hints=[
            "平成31年は4月30日まで、令和元年は5月1日からです。「元年」は1年のことです",
            "sunaba.datasets の parse_wareki が和暦の文字列を datetime.date にします",
            "return parse_wareki(text) と書きます",
        ],
    ),
]
