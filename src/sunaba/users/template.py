"""Roster templates an admin fills in with Excel: CSV (UTF-8 with BOM) or .xlsx with a second
sheet that explains every column. The columns are those `roster.py` reads."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sunaba.users.roster import COURSE_RULE, LOGIN_RULE, MAX_TEXT
from sunaba.users.roster_columns import COLUMN_ALIASES, COLUMN_LABELS


@dataclass(frozen=True)
class ColumnHelp:
    key: str
    required: bool
    example: str
    width: int
    rule: str


COLUMNS = (
    ColumnHelp(
        "login",
        True,
        "#sato-hanako",
        18,
        f"ログインに使う名前です。{LOGIN_RULE}。全角で書いても半角に直して取り込みます。"
        "同じ名簿の中で重複はできません。",
    ),
    ColumnHelp(
        "display_name",
        False,
        "佐藤 花子",
        16,
        f"画面や成績の一覧に出る名前です（{MAX_TEXT}文字まで）。",
    ),
    ColumnHelp(
        "email",
        False,
        "sato-hanako@example.lg.jp",
        30,
        "連絡用のメールアドレスです。空でもかまいません。",
    ),
    ColumnHelp("department", False, "企画課", 16, f"所属の課や係です（{MAX_TEXT}文字まで）。"),
    ColumnHelp(
        "courses",
        False,
        "opendata-intro、ebpm",
        28,
        f"受講するコースのIDです。複数あるときは「、」か「,」で区切ります。{COURSE_RULE}。"
        "空なら、アカウントだけを作ります。",
    ),
)
HEADER = tuple(COLUMN_LABELS[c.key] for c in COLUMNS)
EXAMPLE = tuple(c.example for c in COLUMNS)
NOTES = (
    "1行目（見出し）は消したり書き換えたりしないでください。",
    "2行目は記入例です。ユーザー名が # で始まる行は取り込みません。消してもかまいません。",
    "3行目から、1人1行で書きます。",
    "名簿に1つでも問題があると、何も変更せずに、問題のある行の番号を示します。",
    "すでにあるアカウントのパスワードは変えません。新しいアカウントの仮パスワードは、"
    "管理者だけが読めるファイルに書き出します。",
)


def other_headers(key: str) -> str:
    label = COLUMN_LABELS[key]
    return "、".join(a for a in COLUMN_ALIASES[key] if a != label and not a.isascii())


def csv_template() -> bytes:
    """The CSV template: UTF-8 with BOM (Excel opens it with the Japanese intact)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerow(EXAMPLE)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_template() -> bytes:
    """The Excel template: sheet 「名簿」 (header, example, widths, frozen header) and sheet
    「列の説明」 (one row per column)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "名簿"
    sheet.append(HEADER)
    sheet.append(EXAMPLE)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = fill
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="808080")
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = column.width
    sheet.freeze_panes = "A2"

    notes = book.create_sheet("列の説明")
    notes.append(("列", "必須", "記入例", "書き方", "見出しとして使える別名"))
    for column in COLUMNS:
        notes.append(
            (
                COLUMN_LABELS[column.key],
                "必須" if column.required else "任意",
                column.example.lstrip("#"),
                column.rule,
                other_headers(column.key),
            )
        )
    notes.append(())
    for note in NOTES:
        notes.append(("", "", "", note))
    for cell in notes[1]:
        cell.font = bold
        cell.fill = fill
    for letter, width in zip("ABCDE", (14, 8, 26, 70, 40), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_template(target: str | Path, *, xlsx: bool | None = None) -> Path:
    """Write a template to `target` (Excel when `xlsx` or when the name ends in .xlsx)."""
    target = Path(target)
    if xlsx is None:
        xlsx = target.suffix.lower() == ".xlsx"
    target.write_bytes(xlsx_template() if xlsx else csv_template())
    return target
