"""Reading and validating rosters from real files: encodings, Excel, and every kind of problem."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sunaba.users.roster import (
    login_problem,
    normalize_login,
    read_roster,
    split_courses,
)
from sunaba.users.roster_columns import column_letter
from sunaba.users.roster_files import decode_csv_bytes

GOOD = (
    "ユーザー名,氏名,メールアドレス,所属,コース\n"
    "tanaka,田中 太郎,tanaka@example.lg.jp,企画課,intro、stats\n"
    "SUZUKI,鈴木 花子,,税務課,intro\n"
    "ｓａｔｏ-1,髙橋 一郎,sato@example.lg.jp,,\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def messages(roster) -> list[str]:
    return [str(p) for p in roster.problems]


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (BOM)"), ("cp932", "CP932")],
)
def test_good_csv_in_each_encoding(tmp_path, encoding, label):
    roster = read_roster(write(tmp_path, "roster.csv", GOOD, encoding))
    assert roster.problems == []
    assert roster.ok
    assert roster.format == label
    assert [e.login for e in roster.entries] == ["tanaka", "suzuki", "sato-1"]
    assert [e.row for e in roster.entries] == [2, 3, 4]
    tanaka, suzuki, sato = roster.entries
    assert tanaka.display_name == "田中 太郎"
    assert tanaka.email == "tanaka@example.lg.jp"
    assert tanaka.department == "企画課"
    assert tanaka.courses == ("intro", "stats")
    assert suzuki.email == ""
    assert sato.display_name == "髙橋 一郎"  # CP932-only character kept as written
    assert [e.login for e in roster.normalised] == ["suzuki", "sato-1"]
    assert roster.notices() == [
        '3行目: "SUZUKI" → "suzuki" に正規化しました',
        '4行目: "ｓａｔｏ-1" → "sato-1" に正規化しました',
    ]


def test_english_headers_tabs_and_course_separators(tmp_path):
    text = (
        "Username\tName\tE-mail\tDepartment\tCourses\n"
        "yamada\t山田\tyamada@example.jp\tIT\tintro, stats;ebpm　viz\n"
    )
    roster = read_roster(write(tmp_path, "roster.tsv", text))
    assert roster.ok, messages(roster)
    assert roster.entries[0].courses == ("intro", "stats", "ebpm", "viz")


def test_blank_rows_are_skipped_but_row_numbers_stay_true(tmp_path):
    text = "ユーザー名,氏名\n\ntanaka,田中\n,\nbad name,x\n"
    roster = read_roster(write(tmp_path, "r.csv", text))
    assert [e.row for e in roster.entries] == [3]
    assert messages(roster) == [
        '5行目: ユーザー名 "bad name" は使えません'
        "（半角英小文字・数字・-・_ のみ、先頭は英字、24文字まで）"
    ]


def test_quoted_newline_counts_as_one_spreadsheet_row(tmp_path):
    text = 'ユーザー名,所属\ntanaka,"企画課\n統計係"\nBad!,x\n'
    roster = read_roster(write(tmp_path, "r.csv", text))
    assert roster.entries[0].department == "企画課\n統計係"
    assert [p.row for p in roster.problems] == [3]


def test_broken_roster_reports_every_problem_with_its_row(tmp_path):
    text = (
        "ユーザー名,氏名,メール,備考,コース\n"  # 1: 備考 is unknown
        "tanaka taro,田中,x@y.jp,,intro\n"  # 2: space in name
        "Tanaka,田中,bad@,,\n"  # 3: bad email
        ",佐藤 次郎,,,\n"  # 4: empty user name, no romanisation
        "root,root,,,統計\n"  # 5: reserved name, bad course id
        "ｔａｎａｋａ,田中,,,\n"  # 6: duplicate of row 3 after NFKC
        "1abc,x,,,\n"  # 7: starts with a digit
        "ok-user,x,,,\n"  # 8: fine
        "ok-user,y,,,\n"  # 9: exact duplicate
    )
    roster = read_roster(write(tmp_path, "bad.csv", text))
    assert not roster.ok
    assert messages(roster) == [
        "1行目: D列の列「備考」は使えません（使える列: ユーザー名、氏名、メールアドレス、所属、コース）",
        '2行目: ユーザー名 "tanaka taro" は使えません（半角英小文字・数字・-・_ のみ、先頭は英字、24文字まで）',
        '3行目: メールアドレス "bad@" が正しくありません',
        "4行目: ユーザー名が空です（氏名からローマ字を作ることはしません。半角英小文字のユーザー名を入力してください）",
        '5行目: ユーザー名 "root" は使えません（システムや管理者のアカウント名として予約されています）',
        '5行目: コース "統計" は使えません（コースIDは半角英小文字・数字・-・_ のみ、40文字まで）',
        '6行目: ユーザー名 "ｔａｎａｋａ" は 3行目の "Tanaka" と重複しています（正規化すると "tanaka"）',
        '7行目: ユーザー名 "1abc" は使えません（半角英小文字・数字・-・_ のみ、先頭は英字、24文字まで）',
        '9行目: ユーザー名 "ok-user" は 8行目の "ok-user" と重複しています',
    ]


def test_missing_required_column(tmp_path):
    roster = read_roster(write(tmp_path, "r.csv", "氏名,メール\n田中 太郎,t@example.jp\n"))
    assert [p.row for p in roster.problems] == [1]
    assert "必須の列「ユーザー名」がありません" in messages(roster)[0]
    assert roster.entries == []


def test_duplicate_column_and_data_without_header(tmp_path):
    text = "ユーザー名,username,氏名\ntanaka,tanaka,田中,extra\n"
    roster = read_roster(write(tmp_path, "r.csv", text))
    assert messages(roster) == [
        "1行目: B列の列「username」は A列と同じ「ユーザー名」の列です（1つにしてください）",
        "2行目: D列に見出しのないデータがあります",
    ]


def test_configured_admins_are_refused(tmp_path):
    roster = read_roster(write(tmp_path, "r.csv", "ユーザー名\nchief\n"), reserved=["Chief"])
    assert [p.row for p in roster.problems] == [2]


def test_empty_file_and_header_only(tmp_path):
    assert "名簿が空です" in messages(read_roster(write(tmp_path, "a.csv", "")))[0]
    assert (
        "データ行がありません" in messages(read_roster(write(tmp_path, "b.csv", "ユーザー名\n")))[0]
    )


def test_latin1_file_is_an_encoding_error_naming_file_line_and_byte(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("username,name\nmuller,Müller, Café\n".encode("latin-1"))
    roster = read_roster(path)
    assert roster.entries == []
    [problem] = roster.problems
    assert problem.row is None
    text = str(problem)
    assert str(path) in text
    assert "2行目" in text
    assert "先頭から 23 バイト目の 0xFC" in text  # 'ü' after "username,name\nmuller,M"


def test_bom_file_with_broken_utf8_is_an_error(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfusername\n\xe7\x94\n")
    [problem] = read_roster(path).problems
    assert (
        "UTF-8（BOM付き）のファイルですが、2行目、先頭から 13 バイト目の 0xE7 が読めません"
        in str(problem)
    )


def test_utf16_file_is_refused(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("ユーザー名\ntanaka\n".encode("utf-16"))
    [problem] = read_roster(path).problems
    assert "UTF-16" in str(problem)


def test_cp932_decoding_that_yields_control_or_private_chars_is_rejected():
    with pytest.raises(Exception, match="文字コード"):
        decode_csv_bytes(b"username\n\xf0\x40\n", "x.csv")  # CP932 user-defined area


def test_missing_file(tmp_path):
    [problem] = read_roster(tmp_path / "nope.csv").problems
    assert "ファイルがありません" in str(problem)


def make_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_good_xlsx(tmp_path):
    path = make_xlsx(
        tmp_path / "roster.xlsx",
        [
            ["ログイン名", "氏名", "メール", "所属", "コース"],
            ["Tanaka", "田中 太郎", "tanaka@example.jp", "企画課", "intro、stats"],
            [None, None, None, None, None],
            ["kato", "加藤", None, 301, None],
        ],
    )
    roster = read_roster(path)
    assert roster.ok, messages(roster)
    assert roster.format == "Excel"
    assert [(e.row, e.login) for e in roster.entries] == [(2, "tanaka"), (4, "kato")]
    assert roster.entries[1].department == "301"
    assert roster.entries[0].courses == ("intro", "stats")


def test_broken_xlsx_rows(tmp_path):
    path = make_xlsx(
        tmp_path / "roster.xlsx",
        [
            ["username", "name", "email", "phone"],
            ["sato", "佐藤", "sato@example.jp", "0120"],
            [12345, "数字", None, None],
            ["SATO", "佐藤2", "not-an-email", None],
        ],
    )
    assert messages(read_roster(path)) == [
        "1行目: D列の列「phone」は使えません（使える列: ユーザー名、氏名、メールアドレス、所属、コース）",
        '3行目: ユーザー名 "12345" は使えません（半角英小文字・数字・-・_ のみ、先頭は英字、24文字まで）',
        '4行目: ユーザー名 "SATO" は 2行目の "sato" と重複しています（正規化すると "sato"）',
        '4行目: メールアドレス "not-an-email" が正しくありません',
    ]


def test_file_named_xlsx_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_text("ユーザー名\ntanaka\n", encoding="utf-8")
    [problem] = read_roster(path).problems
    assert "Excel ブック（.xlsx）として読めません" in str(problem)


def test_old_xls_is_refused(tmp_path):
    path = tmp_path / "roster.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    [problem] = read_roster(path).problems
    assert ".xls" in str(problem)


@pytest.mark.parametrize(
    ("raw", "login"),
    [("TANAKA", "tanaka"), ("　ｔａｎａｋａ＿ｔ　", "tanaka_t"), (" sato-2 ", "sato-2")],
)
def test_normalize_login(raw, login):
    assert normalize_login(raw) == login
    assert login_problem(login) is None


@pytest.mark.parametrize(
    "login",
    ["", "tanaka taro", "1abc", "-abc", "a" * 25, "田中", "a.b", "root", "nobody", "www-data"],
)
def test_login_problems(login):
    assert login_problem(normalize_login(login)) is not None


def test_split_courses_and_column_letters():
    assert split_courses("Intro、stats, intro ；ebpm") == ["intro", "stats", "ebpm"]
    assert split_courses("") == []
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]
