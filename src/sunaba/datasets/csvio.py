"""Reading CSV files the way Japanese municipalities publish them.

Files come as UTF-8, UTF-8 with a BOM (what Excel writes for "CSV UTF-8"), CP932 (Excel's
"CSV" on Japanese Windows, a superset of Shift_JIS), sometimes EUC-JP or UTF-16. The bytes
decide: a BOM wins; otherwise UTF-8 is tried first, since CP932 text is almost never valid
UTF-8, then CP932, then EUC-JP.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sunaba.datasets.errors import DatasetError, EncodingError

ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（BOM付き）",
    "cp932": "CP932（Shift_JIS）",
    "euc_jp": "EUC-JP",
    "utf-16": "UTF-16",
}
_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf_8_sig": "utf-8-sig",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "euc-jp": "euc_jp",
    "euc_jp": "euc_jp",
    "utf-16": "utf-16",
}


def canonical_encoding(name: str) -> str:
    key = name.strip().lower()
    if key not in _ALIASES:
        try:
            return codecs.lookup(key).name
        except LookupError:
            raise EncodingError(f"知らない文字コードです: 「{name}」") from None
    return _ALIASES[key]


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str

    @property
    def label(self) -> str:
        return ENCODING_NAMES.get(self.encoding, self.encoding)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _halfwidth_kana_share(text: str) -> float:
    kana = sum(1 for ch in text if "\uff61" <= ch <= "\uff9f")
    return kana / max(1, sum(1 for ch in text if ord(ch) > 0x7F))


def decode_bytes(
    data: bytes, *, file: str | Path | None = None, encoding: str | None = None
) -> Decoded:
    """Decode a whole file, detecting the encoding unless one is given."""
    if encoding:
        name = canonical_encoding(encoding)
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            return Decoded(data.decode(name), name)
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"{_line_of(data, exc.start)}行目が {ENCODING_NAMES.get(name, name)} として"
                "読めません。文字コードの指定が違うかもしれません",
                file=file,
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data, "utf-8-sig", file)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(data, "utf-16", file)
    failures = []
    for name in ("utf-8", "cp932", "euc_jp"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            failures.append(f"{ENCODING_NAMES[name]}: {_line_of(data, exc.start)}行目")
            continue
        if name == "cp932" and _halfwidth_kana_share(text) > 0.5:
            # EUC-JP bytes often decode as CP932 half-width katakana noise.
            try:
                return _no_nul(Decoded(data.decode("euc_jp"), "euc_jp"), file)
            except UnicodeDecodeError:
                pass
        return _no_nul(Decoded(text, name), file)
    raise EncodingError(
        "文字コードがわかりません（UTF-8・CP932（Shift_JIS）・EUC-JP のどれでも読めません。"
        f"読めなくなった位置: {'、'.join(failures)}）。Excel で開けるなら"
        "「CSV UTF-8（コンマ区切り）」で保存し直してください",
        file=file,
    )


def _checked(data: bytes, name: str, file) -> Decoded:
    try:
        return Decoded(data.decode(name), name)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{ENCODING_NAMES[name]} の印（BOM）がありますが、{_line_of(data, exc.start)}行目が"
            "読めません。ファイルが壊れているかもしれません",
            file=file,
        ) from None


def _no_nul(decoded: Decoded, file) -> Decoded:
    if "\x00" in decoded.text:
        raise EncodingError(
            "テキストファイルではないようです（NUL 文字を含みます）。UTF-16 で BOM がない"
            "ファイルか、CSV 以外のファイルかもしれません",
            file=file,
        )
    return decoded


def detect_encoding(path: str | Path) -> str:
    """The encoding `read_csv_ja` would choose for a file: utf-8, utf-8-sig, cp932, euc_jp…"""
    path = Path(path)
    return decode_bytes(_read_bytes(path), file=path.name).encoding


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError("ファイルがありません", file=path) from None
    except IsADirectoryError:
        raise DatasetError("ファイルではなくフォルダです", file=path) from None
    except PermissionError:
        raise DatasetError("ファイルを読む権限がありません", file=path) from None


_PANDAS_LINE = re.compile(r"line (\d+)")
_PANDAS_COUNTS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def parse_csv_text(text: str, *, file: str | Path | None, **kwargs) -> pd.DataFrame:
    """pandas.read_csv on decoded text, with parser errors turned into DatasetError."""
    try:
        return pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError:
        raise DatasetError("ファイルが空です（見出し行もありません）", file=file) from None
    except pd.errors.ParserError as exc:
        message = str(exc)
        counts = _PANDAS_COUNTS.search(message)
        if counts:
            expected, line, saw = counts.groups()
            raise DatasetError(
                f"列の数が合いません（見出しは {expected} 列、この行は {saw} 列）。"
                '値の中のカンマを「"」で囲んでいないか確かめてください',
                file=file,
                row=int(line),
            ) from None
        line = _PANDAS_LINE.search(message)
        raise DatasetError(
            'CSV として読めません（引用符「"」の閉じ忘れなど）',
            file=file,
            row=int(line.group(1)) if line else None,
        ) from None


def read_csv_ja(
    path: str | Path,
    *,
    encoding: str | None = None,
    quiet: bool = False,
    **kwargs,
) -> pd.DataFrame:
    """Read a Japanese CSV file into a DataFrame, detecting its encoding.

    Detects UTF-8, UTF-8 with BOM, CP932 (Shift_JIS), EUC-JP and UTF-16 with BOM, and prints
    which one it chose (`quiet=True` to stay silent); the choice is also kept in
    `df.attrs["encoding"]`. Other keyword arguments go to `pandas.read_csv` (for example
    `dtype=str` to keep codes such as 011002 as text). Raises `DatasetError` with a Japanese
    message naming the file and the line when the file cannot be read.
    """
    path = Path(path)
    decoded = decode_bytes(_read_bytes(path), file=path.name, encoding=encoding)
    frame = parse_csv_text(decoded.text, file=path.name, **kwargs)
    frame.attrs["encoding"] = decoded.encoding
    frame.attrs["source"] = str(path)
    if not quiet:
        how = "で読み込みました（指定どおり）" if encoding else "と判定して読み込みました"
        print(f"{path.name}: 文字コードを {decoded.label} {how}")
        broken = decoded.text.count("\ufffd")
        if broken:
            print(
                f"{path.name}: 注意: 文字化け（「\ufffd」）が {broken} か所あります。元のファイルが壊れています"
            )
    return frame
