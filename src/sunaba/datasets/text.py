"""Text clean-up for Japanese open data: NFKC plus the few fixes NFKC does not make."""

from __future__ import annotations

import re
import unicodedata
from typing import overload

import pandas as pd

# Dash-like characters that stand for a hyphen between digits ("1ー2", "3−4", "５‐６").
# U+30FC (ー, prolonged sound mark) and U+2500 (─) are only replaced between digits,
# where they can only be a mistyped hyphen.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2500\u2501\u30fc\ufe63\uff0d\uff70"
_BETWEEN_DIGITS = re.compile(rf"(?<=\d)[{_DASHES}](?=\d)")
# A minus sign written as U+2212 or a dash before a number at the start or after a space.
_LEADING_MINUS = re.compile(r"(?:(?<=\s)|^)[\u2212\u2010\u2011\u2012\u2013\ufe63](?=\d)")
_SPACES = re.compile(r"\s+")


def _normalize_one(text: str, hyphens: bool, spaces: bool) -> str:
    text = unicodedata.normalize("NFKC", text)
    if hyphens:
        text = _BETWEEN_DIGITS.sub("-", text)
        text = _LEADING_MINUS.sub("-", text)
    if spaces:
        text = _SPACES.sub(" ", text).strip()
    return text


@overload
def normalize_text(value: str, *, hyphens: bool = ..., spaces: bool = ...) -> str: ...
@overload
def normalize_text(value: pd.Series, *, hyphens: bool = ..., spaces: bool = ...) -> pd.Series: ...
@overload
def normalize_text(value: None, *, hyphens: bool = ..., spaces: bool = ...) -> None: ...


def normalize_text(value, *, hyphens: bool = True, spaces: bool = True):
    """Normalise Japanese text the way open-data validators expect.

    - NFKC: 全角英数字・記号 → 半角 (`１２３` → `123`, `ＡＢＣ` → `ABC`),
      半角カタカナ → 全角 (`ｶﾞｯｺｳ` → `ガッコウ`), `㈱` → `(株)`, `①` → `1`.
    - `hyphens`: dash-like characters between digits become `-` (`１２３－４` → `123-4`,
      `3ー41` → `3-41`), and a minus sign `−5` becomes `-5`. The prolonged sound mark `ー`
      elsewhere is kept (`センター`).
    - `spaces`: runs of spaces (including 全角スペース) become one space; ends are trimmed.

    Works on a string, a pandas Series (missing values are kept) or None. Idempotent:
    normalising twice gives the same result as once.
    """
    if value is None:
        return None
    if isinstance(value, pd.Series):
        return value.map(
            lambda item: _normalize_one(item, hyphens, spaces) if isinstance(item, str) else item
        )
    if not isinstance(value, str):
        raise TypeError(f"normalize_text は文字列か pandas.Series を受け取ります（{type(value)}）")
    return _normalize_one(value, hyphens, spaces)


def has_fullwidth_ascii(text: str) -> bool:
    """True when the text holds 全角 letters, digits or symbols that have a half-width form."""
    return any("\uff01" <= ch <= "\uff5e" for ch in text)


def has_halfwidth_kana(text: str) -> bool:
    return any("\uff61" <= ch <= "\uff9f" for ch in text)
