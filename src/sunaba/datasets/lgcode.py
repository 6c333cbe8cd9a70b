"""全国地方公共団体コード: 6-digit local government codes with their check digit.

The first five digits name the prefecture (2) and the municipality (3); the sixth is a check
digit: multiply the five digits by 6, 5, 4, 3, 2, add, take the remainder modulo 11, and
subtract it from 11; keep the last digit of the result (11 → 1, 10 → 0).
Examples: 011002 札幌市, 131016 千代田区, 130001 東京都, 372013 高松市.
"""

from __future__ import annotations

import unicodedata

from sunaba.datasets.errors import LgCodeError

WEIGHTS = (6, 5, 4, 3, 2)


def _digits(code: object) -> str:
    if isinstance(code, bool):
        raise LgCodeError(f"全国地方公共団体コードではありません: {code!r}", value=code)
    if isinstance(code, int):
        if code < 0:
            raise LgCodeError(f"全国地方公共団体コードではありません: {code}", value=code)
        # An integer lost its leading zero (01100 → 1100): pad to 5 digits, or 6 beyond that.
        return str(code).zfill(5 if code < 100000 else 6)
    if not isinstance(code, str):
        raise LgCodeError(
            f"全国地方公共団体コードは文字列で渡してください（{type(code).__name__}）", value=code
        )
    return unicodedata.normalize("NFKC", code).strip()


def lg_code_check_digit(code: str | int) -> int:
    """The check digit of a 5-digit code (or of the first five digits of a 6-digit one).

    >>> lg_code_check_digit("37201")
    3
    """
    text = _digits(code)
    if len(text) not in (5, 6) or not text.isascii() or not text.isdigit():
        raise LgCodeError(f"全国地方公共団体コードは5桁か6桁の数字です: 「{code}」", value=code)
    total = sum(int(digit) * weight for digit, weight in zip(text[:5], WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def validate_lg_code(code: str | int, *, allow_five: bool = True) -> str:
    """Check a code and return its 6-digit form.

    A 6-digit code must carry the right check digit. A 5-digit code (the old form without
    the check digit, like 37201) is completed to 6 digits (372013) when `allow_five` is true and
    refused otherwise. 全角 digits are accepted. Raises `LgCodeError` with a Japanese message.
    """
    text = _digits(code)
    if not text.isascii() or not text.isdigit() or len(text) not in (5, 6):
        raise LgCodeError(
            f"全国地方公共団体コードは6桁の数字です（検査数字を含む。例: 372013）: 「{code}」",
            value=code,
        )
    expected = lg_code_check_digit(text)
    if len(text) == 5:
        if not allow_five:
            raise LgCodeError(
                f"5桁のコードです: 「{text}」。検査数字を付けた6桁 {text}{expected} にしてください",
                value=code,
            )
        return f"{text}{expected}"
    if int(text[5]) != expected:
        raise LgCodeError(
            f"検査数字が正しくありません: 「{text}」（{text[:5]} の検査数字は {expected}。"
            f"正しくは {text[:5]}{expected}）",
            value=code,
        )
    return text


def is_valid_lg_code(code: object) -> bool:
    """True for a 6-digit code with the right check digit; never raises."""
    try:
        text = _digits(code)
    except LgCodeError:
        return False
    if len(text) != 6:
        return False
    try:
        return validate_lg_code(text) == text
    except LgCodeError:
        return False
