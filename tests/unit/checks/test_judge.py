"""The judging core: right answers pass, typical wrong answers fail with the right Japanese
message, and no message carries the expected value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sunaba.checks.judge import Tolerance, judge
from sunaba.checks.wire import Figure


def frame():
    return pd.DataFrame(
        {"市": ["甲", "乙", "丙"], "人口": [1000, 2000, 3000], "率": [0.5, 0.25, 0.125]}
    )


def test_numbers_with_tolerance():
    assert judge(0.1 + 0.2, 0.3).ok
    assert judge(100.04, 100.0, Tolerance(rel_tol=1e-3)).ok
    verdict = judge(101.5, 987.125)
    assert not verdict.ok and "数値が違います" in verdict.text()
    assert "987" not in verdict.text()
    assert judge(float("nan"), float("nan")).ok
    assert not judge(float("nan"), 1.0).ok


def test_wrong_kind_names_both_kinds_not_the_value():
    verdict = judge("42", 42)
    assert not verdict.ok
    assert "数値を求めていますが、文字列が渡されました" in verdict.text()
    assert not judge(True, 1).ok  # a bool is not a number answer


def test_strings_and_spaces():
    assert judge("千代田区", "千代田区").ok
    assert "空白" in judge(" 千代田区", "千代田区").text()
    assert "千代田区" not in judge("港区", "千代田区").text()


def test_lists_say_which_positions_differ():
    verdict = judge([1, 2, 9, 4], [1, 2, 3, 4])
    assert not verdict.ok and "1 個の要素が違います（位置: 2" in verdict.text()
    assert "要素の数が違います" in judge([1, 2], [1, 2, 3]).text()
    assert judge([3, 1, 2], [1, 2, 3], Tolerance(ignore_order=True)).ok


def test_dicts_name_keys():
    verdict = judge({"a": 1, "c": 5}, {"a": 1, "b": 2})
    assert "キーが足りません: b" in verdict.text() and "余分なキーがあります: c" in verdict.text()
    assert "値が違うキー: a" in judge({"a": 7}, {"a": 1}).text()


def test_dataframe_right_and_index_tolerance():
    assert judge(frame(), frame()).ok
    shuffled = frame().iloc[[2, 0, 1]]
    assert not judge(shuffled, frame()).ok
    assert judge(shuffled, frame(), Tolerance(ignore_order=True)).ok
    assert judge(frame().set_index(pd.Index([5, 6, 7])), frame(), Tolerance(ignore_index=True)).ok


def test_dataframe_wrong_columns():
    verdict = judge(frame().drop(columns=["率"]).assign(割合=1), frame())
    assert "足りない列があります: 率" in verdict.text()
    assert "余分な列があります: 割合" in verdict.text()


def test_dataframe_wrong_dtype():
    wrong = frame().astype({"人口": str})
    verdict = judge(wrong, frame())
    assert "列の型が違います: 人口（文字列など、正しくは整数）" in verdict.text()


def test_dataframe_rows_that_differ_are_named_without_expected_values():
    wrong = frame()
    wrong.loc[1, "人口"] = 2500
    wrong.loc[2, "市"] = "丁"
    verdict = judge(wrong, frame())
    assert not verdict.ok
    assert "2 行の値が違います（行: 1、2）" in verdict.text()
    assert "違いのある列: 市、人口" in verdict.text()
    for secret in ("2000", "丙"):
        assert secret not in verdict.text()


def test_dataframe_row_count():
    verdict = judge(frame().head(2), frame())
    assert "行の数が違います（あなたの答えは 2 行、正しくは 3 行）" in verdict.text()


def test_series():
    series = pd.Series([1.0, 2.0], name="x")
    assert judge(series, series.copy()).ok
    assert "1 行の値が違います" in judge(pd.Series([1.0, 3.0]), series).text()
    assert not judge(np.float64(1.0).item(), series).ok


def test_figures():
    expected = Figure({"axes": [{"bars": [1, 2, 3], "title": "t"}]})
    good = Figure({"axes": [{"bars": [1.0, 2.0, 3.0], "lines": [], "title": "人口"}]})
    assert judge(good, expected).ok
    line = Figure({"axes": [{"bars": [], "lines": [{"x": [1], "y": [2]}], "title": ""}]})
    text = judge(line, expected).text()
    assert "棒グラフになっていません" in text and "タイトルがありません" in text
    wrong = Figure({"axes": [{"bars": [1.0, 5.0, 3.0], "lines": [], "title": "t"}]})
    assert "棒の高さが違います" in judge(wrong, expected).text()


@pytest.mark.parametrize("answer", [None, {"a": 1}, [1], "x", frame().head(0)])
def test_anything_against_a_frame_fails_cleanly(answer):
    verdict = judge(answer, frame())
    assert not verdict.ok and verdict.messages
