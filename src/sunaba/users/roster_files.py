"""Reading a roster file's rows: CSV (UTF-8 with BOM, UTF-8 or CP932) or Excel (.xlsx).

Only bytes and cells here; what the rows mean is `sunaba.users.roster`'s. Messages name the
file, the line and the byte that could not be read, in Japanese.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from pathlib import Path


class RosterFileError(Exception):
    """The file cannot be read at all (missing, wrong encoding, not a workbook)."""


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_csv_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode a CSV roster: UTF-8 with BOM, UTF-8, or CP932. Returns (text, format label).

    Raises RosterFileError naming the file, the line and the byte that could not be read.
    """
    advice = "Excel なら「CSV UTF-8（コンマ区切り）」で保存し直してください。"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RosterFileError(
            f"{name}: UTF-16 で保存されたファイルは読めません"
            f"（使える文字コードは UTF-8・UTF-8（BOM付き）・CP932（Shift_JIS））。{advice}"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError as exc:
            offset = exc.start + 3
            raise RosterFileError(
                f"{name}: UTF-8（BOM付き）のファイルですが、{_where(data, offset)}。{advice}"
            ) from exc
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _implausible_cp932(text):
        return text, "CP932"
    raise RosterFileError(
        f"{name}: 文字コードが UTF-8・UTF-8（BOM付き）・CP932（Shift_JIS）のどれでもありません"
        f"（{_where(data, utf8_error.start)}）。{advice}"
    ) from utf8_error


def _where(data: bytes, offset: int) -> str:
    byte = data[offset] if offset < len(data) else 0
    return (
        f"{_line_of(data, offset)}行目、先頭から {offset + 1} バイト目の 0x{byte:02X} が読めません"
    )


def _implausible_cp932(text: str) -> bool:
    """CP932 decodes many non-Japanese byte strings; reject results no roster would contain."""
    for char in text:
        if "\ue000" <= char <= "\uf8ff":  # private use area (CP932 user-defined characters)
            return True
        if unicodedata.category(char) == "Cc" and char not in "\t\r\n":
            return True
    return False


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_csv_rows(path: Path, data: bytes) -> tuple[list[list[str]], str]:
    text, label = decode_csv_bytes(data, str(path))
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [list(row) for row in reader], label
    except csv.Error as exc:
        raise RosterFileError(
            f"{path}: {reader.line_num}行目付近を CSV として読めません（{exc}）"
        ) from exc


def _read_xlsx_rows(path: Path) -> list[list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RosterFileError(
            f"{path}: Excel ブック（.xlsx）として読めません（{type(exc).__name__}）。"
            "Excel で開いて .xlsx か CSV UTF-8 で保存し直してください。"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        return [
            [_cell_text(value) for value in row]
            for row in sheet.iter_rows(min_row=1, values_only=True)
        ]
    finally:
        workbook.close()


def read_rows(path: Path) -> tuple[list[list[str]], str]:
    """The raw cells of a roster file, row by row (row 1 first), and its format label."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise RosterFileError(f"{path}: ファイルがありません") from exc
    except IsADirectoryError as exc:
        raise RosterFileError(f"{path}: ファイルではなくフォルダーです") from exc
    except PermissionError as exc:
        raise RosterFileError(f"{path}: ファイルを読む権限がありません") from exc
    suffix = path.suffix.lower()
    if suffix == ".xls" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(
            f"{path}: 古い Excel 形式（.xls）は読めません。.xlsx か CSV UTF-8 で保存し直してください。"
        )
    if suffix in (".xlsx", ".xlsm") or data.startswith(b"PK\x03\x04"):
        return _read_xlsx_rows(path), "Excel"
    return _read_csv_rows(path, data)
