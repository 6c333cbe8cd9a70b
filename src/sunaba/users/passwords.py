"""Temporary passwords for imported accounts: made, hashed as NativeAuthenticator does, and
written to a new file only root can read (never widened afterwards)."""

from __future__ import annotations

import csv
import os
import secrets
import string
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import bcrypt

# No 0/O/o, 1/l/I: passwords are read off paper and typed by hand.
PASSWORD_ALPHABET = (
    "".join(c for c in string.ascii_lowercase if c not in "lo")
    + "".join(c for c in string.ascii_uppercase if c not in "IO")
    + "23456789"
)
DEFAULT_PASSWORD_LENGTH = 12
PASSWORDS_HEADER = ("ユーザー名", "氏名", "仮パスワード")


def generate_password(length: int = DEFAULT_PASSWORD_LENGTH) -> str:
    """A random password from an unambiguous alphabet, with a lower, an upper case letter and a
    digit."""
    length = max(length, 8)
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def hash_password(password: str) -> bytes:
    """Hash exactly as NativeAuthenticator does at sign-up (bcrypt, salt and cost inside)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt())


def hash_each(passwords: Mapping[str, str]) -> Iterator[tuple[str, bytes]]:
    """(name, hash) in the order of `passwords`, each as soon as it and those before are done.
    bcrypt releases the GIL: hashed in parallel, a big roster takes seconds instead of minutes."""
    names = list(passwords)
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        yield from zip(names, pool.map(hash_password, (passwords[n] for n in names)), strict=True)


def default_passwords_path(state_dir: str | Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path(state_dir) / f"roster-passwords-{stamp}.csv"


def _create_private(path: Path):
    """Open a new file for writing, created 0600 (never widened, never chmod-ed afterwards);
    refuses to follow a symlink or to overwrite anything."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8-sig", newline="")


def write_passwords_file(
    path: str | Path, rows: Iterable[tuple[str, str, str]], *, unique: bool = False
) -> Path:
    """Write (login, 氏名, temporary password) rows as CSV, UTF-8 with BOM so Excel opens it.

    The file is created with mode 0600 and must not exist yet. With `unique`, an existing name
    gets a numbered suffix instead of an error. Returns the path written.
    """
    path = Path(path)
    candidates = [path]
    if unique:
        candidates += [path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(2, 100)]
    for candidate in candidates:
        try:
            handle = _create_private(candidate)
        except FileExistsError:
            if candidate is candidates[-1]:
                raise
            continue
        with handle:
            writer = csv.writer(handle)
            writer.writerow(PASSWORDS_HEADER)
            writer.writerows(rows)
        return candidate
    raise AssertionError("unreachable")
