from datetime import date

import pandas as pd
import pytest

from sunaba.datasets import validate


def frame(**columns):
    return pd.DataFrame(
        {name: pd.Series(values, dtype="object") for name, values in columns.items()}
    )


def problems(df, schema):
    result = validate(df, schema)
    assert result.columns.tolist() == ["行", "列", "値", "問題"]
    return {
        (None if pd.isna(row[0]) else int(row[0]), row[1]): row[3]
        for row in result.itertuples(index=False)
    }


SCHEMA = {
    "fieldsMatch": "exact",
    "fields": [
        {
            "name": "コード",
            "type": "string",
            "rules": ["lg_code"],
            "constraints": {"required": True},
        },
        {"name": "名称", "type": "string", "rules": ["trimmed"], "constraints": {"unique": True}},
        {"name": "名称_カナ", "type": "string", "rules": ["katakana"]},
        {
            "name": "電話番号",
            "type": "string",
            "rules": ["halfwidth"],
            "constraints": {"pattern": r"0\d{1,4}-\d{1,4}-\d{3,4}"},
        },
        {"name": "人数", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "緯度", "type": "number", "constraints": {"minimum": 20, "maximum": 46}},
        {"name": "日付", "type": "date"},
        {"name": "開始", "type": "time", "format": "%H:%M"},
        {"name": "津波", "type": "boolean", "trueValues": ["1"], "falseValues": ["0"]},
        {"name": "区分", "type": "string", "constraints": {"enum": ["有", "無"]}},
    ],
}
GOOD = dict(
    コード="372013",
    名称="中央公民館",
    名称_カナ="チュウオウコウミンカン",
    電話番号="087-839-2011",
    人数="120",
    緯度="34.34",
    日付="2024-04-01",
    開始="09:00",
    津波="1",
    区分="有",
)


def with_row(**changes):
    rows = [dict(GOOD), {**GOOD, "名称": "西公民館"}, {**GOOD, "名称": "東公民館", **changes}]
    return pd.DataFrame(rows, dtype="object")


def test_clean_table_has_no_problems():
    assert validate(with_row(), SCHEMA).empty


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("コード", "37201", "5桁のコードです"),
        ("コード", "372012", "検査数字が正しくありません"),
        ("コード", "", "必須項目が空欄です"),
        ("名称", "東公民館\u3000", "前後に空白"),
        ("名称", "中央公民館", "重複しています（2行目と同じ）"),
        ("名称_カナ", "ﾋｶﾞｼｺｳﾐﾝｶﾝ", "半角カタカナ"),
        ("名称_カナ", "ひがしこうみんかん", "カタカナ以外"),
        ("電話番号", "０８７－８３９－２０１１", "全角の英数字"),
        ("電話番号", "087-8392011", "形式が違います"),
        ("人数", "１２０", "全角の数字"),
        ("人数", "1,200", "桁区切りのカンマ"),
        ("人数", "120人", "単位や記号"),
        ("人数", "12.5", "小数点"),
        ("人数", "-3", "範囲外です"),
        ("緯度", "134.05", "経度と入れ替わっていませんか"),
        ("日付", "令和6年4月1日", "和暦です"),
        ("日付", "2024/04/01", "日付の形が違います"),
        ("日付", "2024-02-30", "存在しない日付"),
        ("開始", "午前9時", "24時間制"),
        ("津波", "○", "記号ではなく"),
        ("区分", "○", "使える値: 「有」、「無」"),
        ("名称", "\ufffd\ufffd館", "文字化け"),
    ],
)
def test_one_problem_at_the_right_place(column, value, message):
    found = problems(with_row(**{column: value}), SCHEMA)
    assert list(found) == [(4, column)], found
    assert message in found[(4, column)]


def test_problem_table_shape_and_values():
    result = validate(with_row(人数="1,200"), SCHEMA)
    assert str(result["行"].dtype) == "Int64"
    assert result.iloc[0].tolist() == [
        4,
        "人数",
        "1,200",
        "桁区切りのカンマ「,」が含まれています（整数だけを書いてください）",
    ]


def test_column_problems():
    df = with_row().drop(columns=["コード"]).rename(columns={"区分": "区分け"})
    found = problems(df, SCHEMA)
    assert found[(None, "コード")] == "必須の列がありません"
    assert found[(None, "区分")] == "列がありません"
    assert "定義にない列" in found[(None, "区分け")]


def test_column_order_for_exact_schemas():
    df = with_row()[list(reversed(GOOD))]
    assert "列の順序" in validate(df, SCHEMA)["問題"].iloc[0]


def test_superset_allows_missing_optional_columns():
    df = pd.DataFrame(
        [
            {
                "全国地方公共団体コード": "372013",
                "ID": "1",
                "地方公共団体名": "香川県高松市",
                "名称": "a",
                "緯度": "34.3",
                "経度": "134.0",
                "設置位置": "1階",
            }
        ],
        dtype="object",
    )
    assert validate(df, "aed").empty


def test_typed_frames_are_checked_against_constraints():
    df = pd.DataFrame(
        {
            "人数": pd.array([3, -1, None], dtype="Int64"),
            "日付": [pd.Timestamp(2024, 4, 1), pd.NaT, pd.Timestamp(2024, 4, 2)],
        }
    )
    schema = {
        "fieldsMatch": "partial",
        "fields": [
            {"name": "人数", "type": "integer", "constraints": {"minimum": 0}},
            {"name": "日付", "type": "date", "constraints": {"minimum": "2024-04-02"}},
        ],
    }
    found = problems(df, schema)
    assert set(found) == {(3, "人数"), (2, "日付")}


def test_row_sums():
    schema = {
        "fields": [{"name": n, "type": "integer"} for n in ("総人口", "男性", "女性")],
        "rowSums": [{"total": "総人口", "parts": ["男性", "女性"]}],
    }
    df = frame(総人口=["10", "10", "1,000"], 男性=["4", "5", "5"], 女性=["6", "4", "5"])
    found = problems(df, schema)
    assert set(found) == {(3, "総人口"), (4, "総人口")}
    assert "合計が合いません" in found[(3, "総人口")] and "カンマ" in found[(4, "総人口")]


def test_primary_key_and_missing_values():
    schema = {
        "missingValues": ["", "-"],
        "primaryKey": ["a", "b"],
        "fields": [
            {"name": "a"},
            {"name": "b"},
            {"name": "n", "type": "integer", "constraints": {"required": True}},
        ],
    }
    df = frame(a=["x", "x", "y"], b=["1", "1", "1"], n=["-", "2", "3"])
    found = problems(df, schema)
    assert set(found) == {(2, "n"), (3, "a")}


def test_bad_arguments():
    with pytest.raises(TypeError):
        validate([1, 2], SCHEMA)
    assert validate(
        pd.DataFrame({"日付": [date(2024, 4, 1)]}), {"fields": [{"name": "日付", "type": "date"}]}
    ).empty
