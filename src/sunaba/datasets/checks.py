"""Strict checks of one cell against one field, as publishers' validators make them.

Each check returns None when the value is fine, or a short Japanese sentence saying what is
wrong and, where it can, how to fix it. The loader is lenient (see `convert`); these checks are
not: 全角 digits, commas in numbers, 和暦 in a date column are all reported.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from typing import Any

from sunaba.datasets.errors import LgCodeError, WarekiError
from sunaba.datasets.lgcode import validate_lg_code
from sunaba.datasets.tableschema import Field
from sunaba.datasets.text import has_fullwidth_ascii, has_halfwidth_kana
from sunaba.datasets.wareki import FiscalYear, parse_clock, parse_wareki

# re.ASCII: in Python, \d also matches 全角 digits, which are exactly what must be reported.
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ERA_START = re.compile(r"^\s*(?:令和|平成|昭和|大正|明治|㋿|㍻|㍼|㍽|㍾|[RHSTM]\.?\d)")
_AMPM = re.compile(r"午前|午後|正午|時")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URI = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_KANA_BAD = re.compile(r"[\u3041-\u309f\u4e00-\u9fff\u3400-\u4dbf]")
_LAT_NAMES = ("緯度", "latitude", "lat")
_LON_NAMES = ("経度", "longitude", "lon", "lng")


MOJIBAKE = (
    "文字化けしています（「\ufffd」を含みます。元のファイルが文字コードの変換で壊れています）"
)


class Invalid(Exception):
    """A cell does not fit its field; the message says why."""


# --- rules ------------------------------------------------------------------------------------


def _rule_trimmed(text: str) -> str | None:
    if text != text.strip():
        return "前後に空白（全角スペースを含む）があります"
    return None


def _rule_halfwidth(text: str) -> str | None:
    if has_fullwidth_ascii(text) or "\u3000" in text:
        return "全角の英数字・記号・スペースが含まれています（半角にしてください）"
    return None


def _rule_katakana(text: str) -> str | None:
    if has_halfwidth_kana(text):
        return "半角カタカナが含まれています（全角カタカナにしてください）"
    if _KANA_BAD.search(text):
        return "カタカナ以外（ひらがな・漢字）が含まれています（全角カタカナで書いてください）"
    return None


def _rule_lg_code(text: str) -> str | None:
    try:
        validate_lg_code(text, allow_five=False)
    except LgCodeError as exc:
        return exc.message
    return None


RULE_CHECKS = {
    "trimmed": _rule_trimmed,
    "halfwidth": _rule_halfwidth,
    "katakana": _rule_katakana,
    "lg_code": _rule_lg_code,
}


# --- types ------------------------------------------------------------------------------------


def _number_hint(text: str, kind: str) -> str:
    label = "整数" if kind == "integer" else "数値"
    pattern = _INTEGER if kind == "integer" else _NUMBER
    wide = unicodedata.normalize("NFKC", text).strip()
    if has_fullwidth_ascii(text) and (pattern.fullmatch(wide) or _THOUSANDS.fullmatch(wide)):
        return f"全角の数字・記号が含まれています（半角の{label}にしてください）"
    if text != text.strip() and (
        pattern.fullmatch(text.strip()) or _THOUSANDS.fullmatch(text.strip())
    ):
        return f"前後に空白があります（{label}だけを書いてください）"
    if _THOUSANDS.fullmatch(text):
        return f"桁区切りのカンマ「,」が含まれています（{label}だけを書いてください）"
    if re.fullmatch(r"[+-]?[\d.,]+\s*[^\d\s.,]{1,3}", wide, re.ASCII):
        return f"単位や記号が付いています（{label}だけを書いてください）"
    if kind == "integer" and _NUMBER.fullmatch(text):
        return "整数ではありません（小数点があります）"
    return f"{label}ではありません（数字だけを半角で書いてください）"


def parse_number(item: Field, text: str) -> int | float:
    if text in item.zero_values or (not item.bare_number and text.strip() in item.zero_values):
        return 0
    body = text
    if not item.bare_number:
        found = re.search(r"[+-]?[\d,]*\d(?:\.\d+)?", body, re.ASCII)
        body = found.group() if found else body
    if item.group_char:
        body = body.replace(item.group_char, "")
    if item.decimal_char != ".":
        body = body.replace(item.decimal_char, ".")
    if item.type == "integer":
        if not _INTEGER.fullmatch(body):
            raise Invalid(_number_hint(text, "integer"))
        return int(body)
    if not _NUMBER.fullmatch(body):
        raise Invalid(_number_hint(text, "number"))
    return float(body)


def _parse_boolean(item: Field, text: str) -> bool:
    if text in item.true_values:
        return True
    if text in item.false_values:
        return False
    allowed = " / ".join(f"「{v}」" for v in (*item.true_values[-1:], *item.false_values[-1:]))
    hint = ""
    if text in ("○", "〇", "◯", "△", "×", "有", "無"):
        hint = "記号ではなく "
    raise Invalid(
        f"「{text}」は使えません（{hint}{allowed} で書いてください。該当しない場合は空欄）"
    )


def _parse_date(item: Field, text: str) -> date:
    fmt = item.format
    if fmt == "wareki":
        try:
            value = parse_wareki(text)
        except WarekiError as exc:
            raise Invalid(exc.message) from None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise Invalid("日付（年月日）ではありません")
        return value
    if fmt in ("default", "any"):
        if _ISO_DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise Invalid("存在しない日付です") from None
        if fmt == "any":
            try:
                value = parse_wareki(text)
                if isinstance(value, date) and not isinstance(value, datetime):
                    return value
            except WarekiError:
                pass
        raise Invalid(_date_hint(text, "YYYY-MM-DD", "2024-04-01"))
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise Invalid(_date_hint(text, fmt, datetime(2024, 4, 1).strftime(fmt))) from None


def _date_hint(text: str, shape: str, example: str) -> str:
    if _ERA_START.search(text):
        return f"和暦です（西暦の {shape} で書いてください。例: {example}）"
    if has_fullwidth_ascii(text):
        return f"全角の数字が含まれています（半角の {shape} で書いてください）"
    return f"日付の形が違います（{shape} で書いてください。例: {example}）"


def _parse_datetime(item: Field, text: str) -> datetime:
    if item.format == "wareki":
        try:
            value = parse_wareki(text)
        except WarekiError as exc:
            raise Invalid(exc.message) from None
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime.combine(value, time())
        raise Invalid("日時ではありません")
    if item.format in ("default", "any"):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            if item.format == "any":
                try:
                    return _parse_datetime(Field(item.name, "datetime", "wareki"), text)
                except Invalid:
                    pass
            raise Invalid(_date_hint(text, "YYYY-MM-DDThh:mm:ss", "2024-01-11T18:00:00")) from None
    try:
        return datetime.strptime(text, item.format)
    except ValueError:
        raise Invalid(
            _date_hint(text, item.format, datetime(2024, 1, 11, 18).strftime(item.format))
        ) from None


def _parse_time(item: Field, text: str) -> time:
    fmt = "%H:%M:%S" if item.format == "default" else item.format
    if fmt == "any":
        try:
            return parse_clock(text)
        except WarekiError as exc:
            raise Invalid(exc.message) from None
    try:
        return datetime.strptime(text, fmt).time()
    except ValueError:
        shape = fmt.replace("%H", "HH").replace("%M", "MM").replace("%S", "SS")
        if _AMPM.search(text):
            raise Invalid(
                f"「午前・午後」や「時」ではなく24時間制の {shape} で書いてください（例: 17:30）"
            ) from None
        if has_fullwidth_ascii(text):
            raise Invalid(
                f"全角の数字が含まれています（半角の {shape} で書いてください）"
            ) from None
        raise Invalid(f"時刻の形が違います（{shape} で書いてください）") from None


def _parse_year(item: Field, text: str) -> int:
    if item.format == "wareki":
        try:
            value = parse_wareki(text)
        except WarekiError as exc:
            raise Invalid(exc.message) from None
        if isinstance(value, FiscalYear):
            return value.year
        if isinstance(value, int):
            return value
        raise Invalid("年（令和4年・令和4年度など）ではありません")
    if re.fullmatch(r"\d{4}", text, re.ASCII):
        return int(text)
    if _ERA_START.search(text):
        raise Invalid("和暦です（西暦の4桁の年で書いてください。例: 2024）")
    raise Invalid("西暦の4桁の年ではありません")


def _parse_geopoint(item: Field, text: str) -> tuple[float, float]:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(_NUMBER.fullmatch(part) for part in parts):
        raise Invalid("「緯度,経度」の形ではありません（例: 34.34,134.04）")
    lat, lon = float(parts[0]), float(parts[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid("緯度・経度の範囲を超えています")
    return lat, lon


def _parse_string(item: Field, text: str) -> str:
    checks = {"email": _EMAIL, "uri": _URI, "uuid": _UUID}
    pattern = checks.get(item.format)
    if pattern is not None and not pattern.fullmatch(text):
        names = {"email": "メールアドレス", "uri": "URL（https://…）", "uuid": "UUID"}
        raise Invalid(f"{names[item.format]}の形ではありません")
    return text


def parse_strict(item: Field, text: str) -> Any:
    """The typed value of a cell, or raise Invalid saying why it does not fit the field."""
    kind = item.type
    if kind in ("integer", "number"):
        return parse_number(item, text)
    if kind == "boolean":
        return _parse_boolean(item, text)
    if kind == "date":
        return _parse_date(item, text)
    if kind == "datetime":
        return _parse_datetime(item, text)
    if kind == "time":
        return _parse_time(item, text)
    if kind == "year":
        return _parse_year(item, text)
    if kind == "geopoint":
        return _parse_geopoint(item, text)
    if kind == "string":
        return _parse_string(item, text)
    return text


def _typed_from_python(item: Field, value: Any) -> Any:
    """A value that a loader already typed: accept it when it fits, else check its text."""
    kind = item.type
    if isinstance(value, bool):
        if kind == "boolean":
            return value
    elif isinstance(value, int) and kind in ("integer", "number", "year"):
        return value
    elif isinstance(value, float) and kind in ("integer", "number"):
        if kind == "integer" and not value.is_integer():
            raise Invalid("整数ではありません（小数点があります）")
        return int(value) if kind == "integer" else value
    elif isinstance(value, datetime):
        if kind == "datetime":
            return value
        if kind == "date" and value.time() == time():
            return value.date()
    elif isinstance(value, date) and kind == "date" or isinstance(value, time) and kind == "time":
        return value
    return parse_strict(item, str(value))


# --- constraints ------------------------------------------------------------------------------


def _bound(item: Field, raw: Any) -> Any:
    if item.type in ("integer", "number", "year") or not isinstance(raw, str):
        return raw
    return parse_strict(item, raw)


def _swap_hint(item: Field, value: float) -> str:
    name = item.name.lower()
    if name in _LAT_NAMES and 122 <= value <= 154:
        return "（経度と入れ替わっていませんか）"
    if name in _LON_NAMES and 20 <= value <= 46:
        return "（緯度と入れ替わっていませんか）"
    return ""


def check_constraints(item: Field, text: str, value: Any) -> str | None:
    constraints = item.constraints
    enum = constraints.get("enum")
    if enum is not None:
        allowed = [_bound(item, option) for option in enum]
        if value not in allowed:
            shown = "、".join(f"「{option}」" for option in enum)
            return f"「{text}」は使えません（使える値: {shown}）"
    pattern = constraints.get("pattern")
    if pattern is not None and item.type == "string" and not re.fullmatch(pattern, text, re.ASCII):
        return f"形式が違います（決まった形: {pattern}）"
    if isinstance(value, str):
        if "minLength" in constraints and len(value) < constraints["minLength"]:
            return f"短すぎます（{constraints['minLength']}文字以上）"
        if "maxLength" in constraints and len(value) > constraints["maxLength"]:
            return f"長すぎます（{constraints['maxLength']}文字まで）"
    if "minimum" in constraints or "maximum" in constraints:
        low = constraints.get("minimum")
        high = constraints.get("maximum")
        low_value = _bound(item, low) if low is not None else None
        high_value = _bound(item, high) if high is not None else None
        if isinstance(value, float) and math.isnan(value):
            return None
        if (low_value is not None and value < low_value) or (
            high_value is not None and value > high_value
        ):
            span = f"{low if low is not None else ''}〜{high if high is not None else ''}"
            hint = _swap_hint(item, value) if isinstance(value, int | float) else ""
            return f"範囲外です（{span}）{hint}"
    return None


def check_cell(item: Field, value: Any) -> tuple[Any, str | None]:
    """Check one non-missing cell: rules, then type, then constraints; first problem wins."""
    if isinstance(value, str):
        if "\ufffd" in value:
            return None, MOJIBAKE
        for rule in item.rules:
            problem = RULE_CHECKS[rule](value)
            if problem:
                return None, problem
        try:
            typed = parse_strict(item, value)
        except Invalid as exc:
            return None, str(exc)
        text = value
    else:
        try:
            typed = _typed_from_python(item, value)
        except Invalid as exc:
            return None, str(exc)
        text = str(value)
        if item.rules and item.type == "string":
            for rule in item.rules:
                problem = RULE_CHECKS[rule](text)
                if problem:
                    return None, problem
    return typed, check_constraints(item, text, typed)
