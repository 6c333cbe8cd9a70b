"""Judging an answer against an expected value: one verdict, in Japanese, that tells what
differs without ever showing the expected value itself.

Shared by the check service and by autograder cells, so feedback and grades never disagree.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

from sunaba.checks.wire import Figure

MAX_LISTED = 5
NUMBER_DIFFERS = "数値が違います。計算をもう一度確かめてください"
# Messages that say only that something differs: a typical mistake's own message replaces them.
BARE_MESSAGES = frozenset({NUMBER_DIFFERS, "文字列が違います", "値が違います"})


@dataclass(frozen=True)
class Tolerance:
    rel_tol: float = 1e-9
    abs_tol: float = 0.0
    ignore_index: bool = False
    ignore_order: bool = False
    check_dtype: bool = True


@dataclass
class Verdict:
    ok: bool
    messages: list[str] = field(default_factory=list)

    @classmethod
    def passed(cls) -> Verdict:
        return cls(True, [])

    @classmethod
    def failed(cls, *messages: str) -> Verdict:
        return cls(False, list(messages))

    def text(self) -> str:
        return "正解です" if self.ok else "\n".join(self.messages)


def _kind(value) -> str:
    import pandas as pd

    if isinstance(value, bool):
        return "真偽値（True/False）"
    if isinstance(value, (int, float)):
        return "数値"
    if isinstance(value, str):
        return "文字列"
    if isinstance(value, (list, tuple)):
        return "リスト"
    if isinstance(value, dict) and not isinstance(value, Figure):
        return "辞書"
    if isinstance(value, pd.DataFrame):
        return "表（DataFrame）"
    if isinstance(value, pd.Series):
        return "列（Series）"
    if isinstance(value, Figure):
        return "グラフ"
    if value is None:
        return "None（値なし）"
    return type(value).__name__


def _listed(items) -> str:
    items = [str(i) for i in items]
    more = f" ほか {len(items) - MAX_LISTED} 件" if len(items) > MAX_LISTED else ""
    return "、".join(items[:MAX_LISTED]) + more


def _number_close(answer, expected, tol: Tolerance) -> bool:
    if isinstance(answer, float) and isinstance(expected, float) and math.isnan(answer):
        return math.isnan(expected)
    return math.isclose(answer, expected, rel_tol=tol.rel_tol, abs_tol=tol.abs_tol)


def _numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def judge(answer, expected, tol: Tolerance | None = None) -> Verdict:
    import pandas as pd

    tol = tol or Tolerance()
    if isinstance(expected, pd.DataFrame):
        return _judge_frame(answer, expected, tol)
    if isinstance(expected, pd.Series):
        if isinstance(answer, pd.Series):
            return _judge_frame(answer.to_frame("値"), expected.to_frame("値"), tol)
        return _wrong_kind(answer, expected)
    if isinstance(expected, Figure):
        return judge_figure(answer, expected)
    if _numeric(expected):
        if not _numeric(answer):
            return _wrong_kind(answer, expected)
        if _number_close(answer, expected, tol):
            return Verdict.passed()
        return Verdict.failed(NUMBER_DIFFERS)
    if isinstance(expected, str):
        if not isinstance(answer, str):
            return _wrong_kind(answer, expected)
        if answer == expected:
            return Verdict.passed()
        if answer.strip() == expected.strip():
            return Verdict.failed("前後に余分な空白があります")
        return Verdict.failed("文字列が違います")
    if isinstance(expected, (list, tuple)):
        return _judge_list(answer, expected, tol)
    if isinstance(expected, dict):
        return _judge_dict(answer, expected, tol)
    if answer == expected and type(answer) is type(expected):
        return Verdict.passed()
    if type(answer) is not type(expected):
        return _wrong_kind(answer, expected)
    return Verdict.failed("値が違います")


def _wrong_kind(answer, expected) -> Verdict:
    return Verdict.failed(
        f"答えの種類が違います。{_kind(expected)}を求めていますが、{_kind(answer)}が渡されました"
    )


def _judge_list(answer, expected, tol: Tolerance) -> Verdict:
    if not isinstance(answer, (list, tuple)):
        return _wrong_kind(answer, expected)
    if len(answer) != len(expected):
        return Verdict.failed(
            f"要素の数が違います（あなたの答えは {len(answer)} 個、正しくは {len(expected)} 個）"
        )
    if tol.ignore_order:
        with contextlib.suppress(TypeError):
            answer, expected = sorted(answer), sorted(expected)
    wrong = [
        i for i, (a, e) in enumerate(zip(answer, expected, strict=True)) if not judge(a, e, tol).ok
    ]
    if not wrong:
        return Verdict.passed()
    return Verdict.failed(
        f"{len(wrong)} 個の要素が違います（位置: {_listed(wrong)}、0 から数えて）"
    )


def _judge_dict(answer, expected, tol: Tolerance) -> Verdict:
    if not isinstance(answer, dict):
        return _wrong_kind(answer, expected)
    messages = []
    missing = [k for k in expected if k not in answer]
    extra = [k for k in answer if k not in expected]
    if missing:
        messages.append(f"キーが足りません: {_listed(missing)}")
    if extra:
        messages.append(f"余分なキーがあります: {_listed(extra)}")
    wrong = [k for k in expected if k in answer and not judge(answer[k], expected[k], tol).ok]
    if wrong:
        messages.append(f"値が違うキー: {_listed(wrong)}")
    return Verdict.failed(*messages) if messages else Verdict.passed()


def _dtype_kind(series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "真偽値"
    if pd.api.types.is_integer_dtype(series):
        return "整数"
    if pd.api.types.is_float_dtype(series):
        return "小数"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "日時"
    return "文字列など"


def _judge_frame(answer, expected, tol: Tolerance) -> Verdict:
    import pandas as pd

    if not isinstance(answer, pd.DataFrame):
        return _wrong_kind(answer, expected)
    messages = _frame_shape_problems(answer, expected)
    if messages:
        return Verdict.failed(*messages)
    answer = answer[list(expected.columns)]
    if tol.check_dtype:
        changed = [
            f"{c}（{_dtype_kind(answer[c])}、正しくは{_dtype_kind(expected[c])}）"
            for c in expected.columns
            if _dtype_kind(answer[c]) != _dtype_kind(expected[c])
        ]
        if changed:
            return Verdict.failed(f"列の型が違います: {_listed(changed)}")
    if tol.ignore_order:
        answer = answer.sort_values(list(answer.columns), ignore_index=True)
        expected = expected.sort_values(list(expected.columns), ignore_index=True)
    labels = list(answer.index)
    if tol.ignore_index or tol.ignore_order:
        answer = answer.reset_index(drop=True)
        expected = expected.reset_index(drop=True)
    elif not answer.index.equals(expected.index):
        return Verdict.failed(
            "行の並び（インデックス）が違います。並べ替えや reset_index を確かめてください"
        )
    return _judge_frame_values(answer, expected, labels, tol)


def _frame_shape_problems(answer, expected) -> list[str]:
    """Missing or extra columns and a different number of rows: nothing else is worth comparing
    until these are right."""
    messages = []
    missing = [c for c in expected.columns if c not in answer.columns]
    extra = [c for c in answer.columns if c not in expected.columns]
    if missing:
        messages.append(f"足りない列があります: {_listed(missing)}")
    if extra:
        messages.append(f"余分な列があります: {_listed(extra)}")
    if len(answer) != len(expected):
        messages.append(
            f"行の数が違います（あなたの答えは {len(answer)} 行、正しくは {len(expected)} 行）"
        )
    return messages


def _judge_frame_values(answer, expected, labels: list, tol: Tolerance) -> Verdict:
    """Cell by cell, frames of the same columns and aligned rows; `labels` are the row labels
    to report, taken before the index was reset."""
    import pandas as pd

    differs = pd.Series(False, index=answer.index)
    bad_columns = []
    for column in expected.columns:
        wrong = _wrong_cells(answer[column], expected[column], tol)
        if wrong.any():
            bad_columns.append(column)
            differs |= wrong
    if not differs.any():
        return Verdict.passed()
    rows = [labels[i] for i, bad in enumerate(differs.to_numpy()) if bad]
    return Verdict.failed(
        f"{len(rows)} 行の値が違います（行: {_listed(rows)}）",
        f"違いのある列: {_listed(bad_columns)}",
    )


def _wrong_cells(mine, theirs, tol: Tolerance):
    """A boolean Series over `mine`'s index: numbers within the tolerance are equal, and so
    are two missing values."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(theirs) and pd.api.types.is_numeric_dtype(mine):
        import numpy as np

        a = mine.astype("float64").to_numpy()
        e = theirs.astype("float64").to_numpy()
        close = np.isclose(a, e, rtol=tol.rel_tol, atol=tol.abs_tol, equal_nan=True)
        return pd.Series(~close, index=mine.index)
    both_missing = mine.isna() & theirs.isna()
    return (mine.astype(object) != theirs.astype(object)) & ~both_missing


def judge_figure(answer, expected: Figure) -> Verdict:
    """`expected` lists only what matters: the first axes' kind of marks, count, labels."""
    if not isinstance(answer, Figure):
        return _wrong_kind(answer, expected)
    if not answer.axes:
        return Verdict.failed("グラフが空です")
    mine, want = answer.axes[0], expected.axes[0]
    messages = []
    if want.get("bars") is not None and len(mine["bars"]) != len(want["bars"]):
        if not mine["bars"]:
            messages.append("棒グラフになっていません")
        else:
            messages.append(f"棒の数が違います（あなたのグラフは {len(mine['bars'])} 本）")
    elif want.get("bars") and not judge(mine["bars"], want["bars"], Tolerance(rel_tol=1e-6)).ok:
        messages.append("棒の高さが違います")
    if want.get("lines") and len(mine["lines"]) != len(want["lines"]):
        messages.append(f"線の数が違います（あなたのグラフは {len(mine['lines'])} 本）")
    for key, word in (
        ("title", "タイトル"),
        ("xlabel", "横軸のラベル"),
        ("ylabel", "縦軸のラベル"),
    ):
        if want.get(key) and not mine.get(key):
            messages.append(f"{word}がありません")
    return Verdict.failed(*messages) if messages else Verdict.passed()
