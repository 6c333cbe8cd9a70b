"""The columns of a roster: each one's key, the Japanese label messages call it by, and the header
titles it may have, compared loosely; read by `roster.py`, written by `template.py`."""

from __future__ import annotations

import re
import unicodedata

# Columns: canonical key -> Japanese label used in messages, and accepted headers.
COLUMN_LABELS = {
    "login": "ユーザー名",
    "display_name": "氏名",
    "email": "メールアドレス",
    "department": "所属",
    "courses": "コース",
}
COLUMN_ALIASES = {
    "login": (
        "ユーザー名",
        "ユーザ名",
        "ユーザーID",
        "ユーザID",
        "ログイン名",
        "ログインID",
        "アカウント",
        "アカウント名",
        "username",
        "user name",
        "user",
        "userid",
        "user id",
        "login",
        "login name",
        "login id",
    ),
    "display_name": (
        "氏名",
        "名前",
        "お名前",
        "表示名",
        "name",
        "full name",
        "display name",
    ),
    "email": (
        "メール",
        "メールアドレス",
        "Eメール",
        "Eメールアドレス",
        "電子メール",
        "email",
        "e-mail",
        "mail",
        "email address",
        "e-mail address",
    ),
    "department": (
        "所属",
        "部署",
        "所属部署",
        "所属課",
        "課",
        "department",
        "dept",
        "section",
        "division",
    ),
    "courses": (
        "コース",
        "受講コース",
        "コースID",
        "courses",
        "course",
        "course id",
        "course ids",
    ),
}
REQUIRED_COLUMNS = ("login",)


def header_key(text: str) -> str:
    """Compare headers loosely: NFKC, case, spaces, '_', '-' and '*' do not matter."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s_\-*＊]+", "", text)


HEADER_LOOKUP = {
    header_key(alias): key for key, aliases in COLUMN_ALIASES.items() for alias in aliases
}


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names column `index`."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
