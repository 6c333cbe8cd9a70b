"""Reading and validating a roster (名簿): CSV (UTF-8, UTF-8 with BOM or CP932) or Excel (.xlsx).

Nothing here touches a database. A row whose ユーザー名 starts with # is a comment (the
template's example row). `read_roster` returns every entry and every problem found; the
caller changes nothing unless `Roster.ok`. Row numbers are those a spreadsheet user sees: the
header is row 1. Problems and notices are in Japanese, for the municipal admins who read them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.users.roster_columns import (
    COLUMN_ALIASES,
    COLUMN_LABELS,
    HEADER_LOOKUP,
    REQUIRED_COLUMNS,
    column_letter,
    header_key,
)
from sunaba.users.roster_files import RosterFileError, read_rows

# Login names become Unix accounts (with the sandbox prefix) and hub user names.
LOGIN_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
LOGIN_RULE = "半角英小文字・数字・-・_ のみ、先頭は英字、24文字まで"
COURSE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COURSE_RULE = "コースIDは半角英小文字・数字・-・_ のみ、40文字まで"
# A subset of what NativeAuthenticator's UserInfo accepts, so a valid address is always storable.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
MAX_EMAIL = 128  # users_info.email is String(128)
MAX_TEXT = 200
COURSE_SEPARATORS = re.compile(r"[、,;，；\s]+")
COMMENT_MARKS = ("#", "＃")

# System accounts and service names a roster may never claim.
RESERVED_LOGINS = frozenset(
    """
    root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats
    nobody nogroup systemd-network systemd-resolve systemd-timesync systemd-coredump messagebus
    sshd _apt syslog postfix postgres mysql redis nginx apache httpd ftp operator halt shutdown
    jupyterhub jupyter sunaba admin administrator
    """.split()
)


@dataclass(frozen=True)
class RosterProblem:
    """One thing wrong with the roster. `row` is the spreadsheet row (1 = header), or None for
    the file as a whole."""

    row: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.row}行目: {self.message}" if self.row is not None else self.message


@dataclass(frozen=True)
class RosterEntry:
    """One valid person in the roster, already normalised."""

    row: int
    login: str
    original_login: str
    display_name: str = ""
    email: str = ""
    department: str = ""
    courses: tuple[str, ...] = ()

    @property
    def normalised(self) -> bool:
        return self.original_login != self.login


@dataclass
class Roster:
    path: Path
    format: str = ""  # "UTF-8", "UTF-8 (BOM)", "CP932" or "Excel"
    columns: tuple[str, ...] = ()  # canonical keys present
    entries: list[RosterEntry] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.entries)

    @property
    def normalised(self) -> list[RosterEntry]:
        return [e for e in self.entries if e.normalised]

    def notices(self) -> list[str]:
        """What normalisation did, one line per changed login name."""
        return [
            f'{e.row}行目: "{e.original_login}" → "{e.login}" に正規化しました'
            for e in self.normalised
        ]


def normalize_login(raw: str) -> str:
    """全角→半角 (NFKC), trimmed, lower case. Validity is checked separately."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def login_problem(login: str, reserved: Iterable[str] = ()) -> str | None:
    """Why a normalised login cannot be used, or None."""
    if not LOGIN_PATTERN.match(login):
        return LOGIN_RULE
    if login in RESERVED_LOGINS or login in set(reserved) or login.startswith("systemd-"):
        return "システムや管理者のアカウント名として予約されています"
    return None


def split_courses(text: str) -> list[str]:
    """Course IDs from one cell: separated by 、 , ; or spaces (全角 too); NFKC, lower case."""
    text = unicodedata.normalize("NFKC", text).lower()
    seen: list[str] = []
    for part in COURSE_SEPARATORS.split(text):
        if part and part not in seen:
            seen.append(part)
    return seen


# ----------------------------------------------------------------------------------------------
# Validation


def _blank(row: Sequence[str]) -> bool:
    return all(not cell.strip() for cell in row)


def is_comment(row: Sequence[str], login_column: int) -> bool:
    """A row whose ユーザー名 starts with # (the template's example row) is not read."""
    cell = row[login_column].strip() if login_column < len(row) else ""
    return cell.startswith(COMMENT_MARKS)


def read_roster(path: str | Path, *, reserved: Iterable[str] = ()) -> Roster:
    """Read and validate a roster file. Never raises for bad content: see `Roster.problems`.

    `reserved` adds login names to refuse besides system accounts (e.g. the configured admins).
    """
    path = Path(path)
    roster = Roster(path=path)
    try:
        rows, roster.format = read_rows(path)
    except RosterFileError as exc:
        roster.problems.append(RosterProblem(None, str(exc)))
        return roster
    validate_rows(rows, roster, reserved=reserved)
    return roster


def validate_rows(rows: list[list[str]], roster: Roster, *, reserved: Iterable[str] = ()) -> None:
    """Fill `roster.entries` and `roster.problems` from raw rows (index 0 is spreadsheet row 1)."""
    reserved = {normalize_login(name) for name in reserved}
    problems = roster.problems

    numbered = [(number, row) for number, row in enumerate(rows, start=1) if not _blank(row)]
    if not numbered:
        problems.append(RosterProblem(None, f"{roster.path}: 名簿が空です（見出し行もありません）"))
        return
    header_row, header = numbered[0]
    data_rows = numbered[1:]
    columns = _header_columns(header_row, header, data_rows, problems)
    roster.columns = tuple(columns.values())
    if _missing_columns(header_row, roster.columns, problems):
        # Without the user-name column every data row would only repeat the same problem.
        return
    login_column = next(index for index, key in columns.items() if key == "login")
    if not [row for _, row in data_rows if not is_comment(row, login_column)]:
        problems.append(RosterProblem(None, f"{roster.path}: 名簿にデータ行がありません"))
        return

    seen: dict[str, tuple[int, str]] = {}
    for number, row in data_rows:
        if is_comment(row, login_column):
            continue
        values = _row_values(number, row, len(header), columns, problems)
        entry = _validate_entry(number, values, reserved, seen, problems)
        if entry is not None:
            roster.entries.append(entry)
    problems.sort(key=lambda p: p.row or 0)


def _header_columns(
    header_row: int,
    header: Sequence[str],
    data_rows: list[tuple[int, list[str]]],
    problems: list[RosterProblem],
) -> dict[int, str]:
    """Each usable header cell's column index and key, in the header's order; a blank, unknown
    or repeated title is a problem."""
    columns: dict[int, str] = {}
    first_seen: dict[str, int] = {}
    for index, cell in enumerate(header):
        title = cell.strip()
        where = f"{column_letter(index)}列"
        if not title:
            if any(index < len(row) and row[index].strip() for _, row in data_rows):
                problems.append(
                    RosterProblem(
                        header_row, f"{where}に見出しがありませんが、データが入っています"
                    )
                )
            continue
        key = HEADER_LOOKUP.get(header_key(title))
        if key is None:
            allowed = "、".join(COLUMN_LABELS.values())
            problems.append(
                RosterProblem(
                    header_row, f"{where}の列「{title}」は使えません（使える列: {allowed}）"
                )
            )
            continue
        if key in first_seen:
            problems.append(
                RosterProblem(
                    header_row,
                    f"{where}の列「{title}」は {column_letter(first_seen[key])}列と同じ"
                    f"「{COLUMN_LABELS[key]}」の列です（1つにしてください）",
                )
            )
            continue
        first_seen[key] = index
        columns[index] = key
    return columns


def _missing_columns(
    header_row: int, present: Sequence[str], problems: list[RosterProblem]
) -> bool:
    """Whether a required column is missing (each one a problem)."""
    missing = [key for key in REQUIRED_COLUMNS if key not in present]
    for key in missing:
        aliases = "・".join(f"「{a}」" for a in COLUMN_ALIASES[key][:3] + ("username",))
        problems.append(
            RosterProblem(
                header_row,
                f"必須の列「{COLUMN_LABELS[key]}」がありません（見出しを {aliases} のどれかにしてください）",
            )
        )
    return bool(missing)


def _row_values(
    number: int,
    row: Sequence[str],
    header_width: int,
    columns: dict[int, str],
    problems: list[RosterProblem],
) -> dict[str, str]:
    """A data row's cells by column key ("" where empty); data beyond the header is a problem."""
    values = {key: "" for key in COLUMN_LABELS}
    for index, cell in enumerate(row):
        if index in columns:
            values[columns[index]] = cell
        elif cell.strip() and index >= header_width:
            problems.append(
                RosterProblem(number, f"{column_letter(index)}列に見出しのないデータがあります")
            )
    return values


def _validate_entry(
    number: int,
    values: dict[str, str],
    reserved: set[str],
    seen: dict[str, tuple[int, str]],
    problems: list[RosterProblem],
) -> RosterEntry | None:
    before = len(problems)

    def problem(message: str) -> None:
        problems.append(RosterProblem(number, message))

    raw_login = values["login"]
    original = raw_login.strip()
    login = normalize_login(raw_login)
    if not login:
        problem(
            "ユーザー名が空です（氏名からローマ字を作ることはしません。"
            "半角英小文字のユーザー名を入力してください）"
        )
    else:
        why = login_problem(login, reserved)
        if why is not None:
            problem(f'ユーザー名 "{original}" は使えません（{why}）')
        elif login in seen:
            other_row, other_original = seen[login]
            same = "" if other_original == original else f'（正規化すると "{login}"）'
            problem(
                f'ユーザー名 "{original}" は {other_row}行目の "{other_original}" と重複しています{same}'
            )
        else:
            seen[login] = (number, original)

    display_name = values["display_name"].strip()
    if len(display_name) > MAX_TEXT:
        problem(f"氏名が長すぎます（{MAX_TEXT}文字まで）")
    department = values["department"].strip()
    if len(department) > MAX_TEXT:
        problem(f"所属が長すぎます（{MAX_TEXT}文字まで）")

    email = unicodedata.normalize("NFKC", values["email"]).strip()
    if email and (len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email)):
        problem(f'メールアドレス "{values["email"].strip()}" が正しくありません')

    courses = split_courses(values["courses"])
    for course in courses:
        if not COURSE_PATTERN.match(course):
            problem(f'コース "{course}" は使えません（{COURSE_RULE}）')

    if len(problems) != before:
        return None
    return RosterEntry(
        row=number,
        login=login,
        original_login=original,
        display_name=display_name,
        email=email,
        department=department,
        courses=tuple(courses),
    )
