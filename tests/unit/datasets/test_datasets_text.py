import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sunaba.datasets import normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１２３－４", "123-4"),  # 全角 digits and 全角 hyphen-minus
        ("石川県七尾市藤橋町辰部５２－１", "石川県七尾市藤橋町辰部52-1"),
        ("３ー４１", "3-41"),  # 長音符 typed as a hyphen between digits
        ("ｽﾅﾊﾞｼﾘﾂｺｳﾐﾝｶﾝ", "スナバシリツコウミンカン"),  # half-width katakana
        ("ｶﾞｯｺｳ", "ガッコウ"),
        (
            "セントラルクリニック　２階  セントラルクリニック　４階",
            "セントラルクリニック 2階 セントラルクリニック 4階",
        ),
        ("　１階　ロビー　", "1階 ロビー"),
        ("ＪＲホテルクレメント高松", "JRホテルクレメント高松"),
        ("コミュニティセンター", "コミュニティセンター"),  # ー inside words is kept
        ("−5", "-5"),  # U+2212 minus sign before a number
        ("㈱サンプル", "(株)サンプル"),
        ("屋内1,371人／屋外5,470人（面積の1/2）", "屋内1,371人/屋外5,470人(面積の1/2)"),
    ],
)
def test_real_world_strings(raw, expected):
    assert normalize_text(raw) == expected


def test_options_keep_hyphens_and_spaces():
    assert normalize_text("１ー２　３", hyphens=False, spaces=False) == "1ー2 3"


def test_series_keeps_missing_values():
    series = pd.Series(["１２３", None, "ｱｲｳ"], dtype="object")
    result = normalize_text(series)
    assert result.tolist()[0] == "123"
    assert result.isna().tolist() == [False, True, False]
    assert result.tolist()[2] == "アイウ"


def test_none_and_wrong_type():
    assert normalize_text(None) is None
    with pytest.raises(TypeError):
        normalize_text(123)


@given(st.text())
def test_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_fullwidth_numbers_round_trip(number):
    wide = str(number).translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    assert normalize_text(wide) == str(number)


@given(st.text(alphabet=st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E)))
def test_no_fullwidth_ascii_left(text):
    assert not any("\uff01" <= ch <= "\uff5e" for ch in normalize_text(text))
