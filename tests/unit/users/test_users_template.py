"""The roster templates: Excel and CSV open as an admin expects, name the columns the reader
accepts, and a filled-in template imports as it is."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from tests.unit.users.test_users_import import site, user_infos  # noqa: F401  (fixture)

from sunaba.cli import main
from sunaba.users.roster import read_roster
from sunaba.users.roster_columns import COLUMN_LABELS
from sunaba.users.template import COLUMNS, HEADER, csv_template, write_template

PEOPLE = [
    ("tanaka", "田中 太郎", "tanaka@example.lg.jp", "企画課", "opendata-intro"),
    ("ｓｕｚｕｋｉ", "鈴木 花子", "", "税務課", "opendata-intro、ebpm"),
]


def test_the_excel_template_has_a_header_an_example_widths_and_an_explanation(tmp_path):
    path = write_template(tmp_path / "名簿.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["名簿", "列の説明"]
    sheet = book["名簿"]
    assert [c.value for c in sheet[1]] == list(COLUMN_LABELS.values())
    example = [c.value for c in sheet[2]]
    assert example[0].startswith("#") and all(example)
    assert sheet[1][0].font.bold
    assert all(sheet.column_dimensions[letter].width >= 14 for letter in "ABCDE")
    assert sheet.freeze_panes == "A2"
    notes = book["列の説明"]
    described = [row[0] for row in notes.iter_rows(min_row=2, values_only=True) if row[0]]
    assert described == list(HEADER)
    rules = {row[0]: row[3] for row in notes.iter_rows(min_row=2, values_only=True) if row[0]}
    assert "半角英小文字" in rules["ユーザー名"] and "、" in rules["コース"]


def test_the_csv_template_is_utf8_with_bom_and_the_same_columns(tmp_path):
    data = csv_template()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(HEADER)
    assert len(rows) == 2 and rows[1][0].startswith("#")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_the_unfilled_template_imports_nobody(tmp_path, suffix):
    roster = read_roster(write_template(tmp_path / f"t{suffix}"))
    assert not roster.ok
    assert roster.entries == []
    assert [str(p) for p in roster.problems] == [
        f"{tmp_path / f't{suffix}'}: 名簿にデータ行がありません"
    ]


def fill_xlsx(path, people) -> None:
    book = openpyxl.load_workbook(path)
    for person in people:
        book["名簿"].append(person)
    book.save(path)


def test_a_filled_excel_template_imports_through_the_cli(site, tmp_path, capsys):  # noqa: F811
    config, config_file = site
    path = tmp_path / "名簿.xlsx"
    assert main(["users", "template", str(path)]) == 0
    assert main(["users", "template", str(path)]) == 1  # never overwrites
    fill_xlsx(path, PEOPLE)
    roster = read_roster(path)
    assert roster.ok, roster.problems
    assert [(e.row, e.login, e.courses) for e in roster.entries] == [
        (3, "tanaka", ("opendata-intro",)),
        (4, "suzuki", ("opendata-intro", "ebpm")),
    ]
    capsys.readouterr()
    assert main(["--config", str(config_file), "users", "import", str(path)]) == 0
    assert set(user_infos(config)) == {"tanaka", "suzuki"}
    assert "新規 2人" in capsys.readouterr().out


def test_a_filled_csv_template_imports_and_a_bad_row_is_named(tmp_path):
    path = tmp_path / "名簿.csv"
    assert main(["users", "template", "--xlsx", str(tmp_path / "x.dat")]) == 0
    data = io.BytesIO((tmp_path / "x.dat").read_bytes())
    assert openpyxl.load_workbook(data).sheetnames[0] == "名簿"
    write_template(path)
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(
            [*PEOPLE, ("Bad Name!", "x", "", "", "")]
        )
    roster = read_roster(path)
    assert [str(p) for p in roster.problems] == [
        '5行目: ユーザー名 "Bad Name!" は使えません（半角英小文字・数字・-・_ のみ、先頭は英字、24文字まで）'
    ]
    assert [e.login for e in roster.entries] == ["tanaka", "suzuki"]


def test_every_column_the_reader_knows_is_in_the_template():
    assert [c.key for c in COLUMNS] == list(COLUMN_LABELS)
