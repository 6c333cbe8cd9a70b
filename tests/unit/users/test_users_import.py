"""Applying rosters to a real hub database (JupyterHub's schema plus NativeAuthenticator's table)
and a real records database, through the `sunaba` CLI and through `import_roster`."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
import socket
import stat
from pathlib import Path

import nativeauthenticator.orm  # noqa: F401  (registers users_info on JupyterHub's Base)
import pytest
import yaml
from jupyterhub import orm
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from sqlalchemy import select

from sunaba.cli import main
from sunaba.config import SiteConfig
from sunaba.core.state import StatePaths, ensure_secrets, ensure_state_dir
from sunaba.records import Person, session_scope
from sunaba.users.apply import ImportFailed
from sunaba.users.cli import run_import
from sunaba.users.passwords import (
    PASSWORD_ALPHABET,
    generate_password,
    hash_password,
    write_passwords_file,
)
from sunaba.users.roster import read_roster
from sunaba.users.roster_import import import_roster

ROSTER = (
    "ユーザー名,氏名,メールアドレス,所属,コース\n"
    "tanaka,田中 太郎,tanaka@example.lg.jp,企画課,intro\n"
    "SUZUKI,鈴木 花子,,税務課,intro、stats\n"
    "ｙａｍａｄａ,山田 一郎,yamada@example.lg.jp,,\n"
)
ROSTER_LOGINS = ("tanaka", "suzuki", "yamada")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site(tmp_path) -> tuple[SiteConfig, Path]:
    """A site whose state dir holds a hub DB made the way JupyterHub makes it; no hub runs."""
    state = tmp_path / "state"
    config = SiteConfig.model_validate(
        {"hub": {"state_dir": str(state), "hub_port": closed_port()}}
    )
    paths = StatePaths.from_config(config)
    ensure_state_dir(paths)
    session = orm.new_session_factory(paths.hub_db_url(config))()
    session.close()
    session.get_bind().dispose()
    config_file = tmp_path / "sunaba.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return config, config_file


def hub_session(config: SiteConfig):
    return orm.new_session_factory(StatePaths.from_config(config).hub_db_url(config))()


def user_infos(config: SiteConfig) -> dict[str, tuple[bytes, bool, str | None]]:
    session = hub_session(config)
    try:
        return {
            u.username: (u.password, u.is_authorized, u.email)
            for u in session.scalars(select(UserInfo))
        }
    finally:
        session.close()
        session.get_bind().dispose()


def people(config: SiteConfig) -> dict[str, tuple[str, str | None, str]]:
    url = f"sqlite:///{StatePaths.from_config(config).records_db}"
    with session_scope(url) as session:
        return {
            p.login: (p.display_name, p.email, p.department)
            for p in session.scalars(select(Person))
        }


def password_files(config: SiteConfig) -> list[Path]:
    return sorted(Path(config.hub.state_dir).glob("roster-passwords-*.csv"))


def read_passwords(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel opens it as UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def native_login(config: SiteConfig, username: str, password: str) -> str | None:
    """Log in the way the hub does: NativeAuthenticator.authenticate on the hub database."""
    session = hub_session(config)
    try:
        auth = NativeAuthenticator(db=session, add_new_table=False)
        return asyncio.run(auth.authenticate(None, {"username": username, "password": password}))
    finally:
        session.close()
        session.get_bind().dispose()


def test_import_through_the_cli(site, tmp_path, capsys):
    config, config_file = site
    roster = tmp_path / "roster.csv"
    roster.write_bytes(ROSTER.encode("cp932"))

    assert main(["--config", str(config_file), "users", "import", str(roster)]) == 0
    out, err = capsys.readouterr()

    # Not a terminal: one line per account, in roster order, as it is registered.
    shown = [line.split("（")[0] for line in err.splitlines()]
    assert shown == ["登録 1/3 tanaka: 新規", "登録 2/3 suzuki: 新規", "登録 3/3 yamada: 新規"]

    infos = user_infos(config)
    assert set(infos) == {"tanaka", "suzuki", "yamada"}
    assert all(authorized for _, authorized, _ in infos.values())
    assert infos["tanaka"][2] == "tanaka@example.lg.jp"
    assert infos["suzuki"][2] is None
    assert people(config) == {
        "tanaka": ("田中 太郎", "tanaka@example.lg.jp", "企画課"),
        "suzuki": ("鈴木 花子", None, "税務課"),
        "yamada": ("山田 一郎", "yamada@example.lg.jp", ""),
    }

    [passwords] = password_files(config)
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    rows = read_passwords(passwords)
    assert rows[0] == ["ユーザー名", "氏名", "仮パスワード"]
    assert [row[:2] for row in rows[1:]] == [
        ["tanaka", "田中 太郎"],
        ["suzuki", "鈴木 花子"],
        ["yamada", "山田 一郎"],
    ]
    for login, _, password in rows[1:]:
        assert len(password) == 12
        assert set(password) <= set(PASSWORD_ALPHABET)
        assert native_login(config, login, password) == login
    assert native_login(config, "tanaka", rows[2][2]) is None  # someone else's password

    assert str(passwords) in out
    assert "新規 3人、更新 0人、変更なし 0人、正規化 2人" in out
    assert '3行目: "SUZUKI" → "suzuki" に正規化しました' in out
    assert '4行目: "ｙａｍａｄａ" → "yamada" に正規化しました' in out
    assert "ハブの API 用トークンがありません" in out


def test_second_import_creates_nothing_and_keeps_passwords(site, tmp_path, capsys):
    config, _ = site
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    assert run_import(config, roster) == 0
    before = user_infos(config)
    [first_file] = password_files(config)
    capsys.readouterr()

    assert run_import(config, roster) == 0
    out, err = capsys.readouterr()
    assert [line.split("（")[0] for line in err.splitlines()] == [
        f"登録 {n}/3 {login}: 変更なし" for n, login in enumerate(ROSTER_LOGINS, 1)
    ]
    assert user_infos(config) == before
    assert password_files(config) == [first_file]
    assert "新規 0人、更新 0人、変更なし 3人" in out
    assert "記録データベース: 新規 0人、更新 0人" in out
    assert "仮パスワードのファイルは作っていません" in out


def test_existing_accounts_are_authorised_and_updated_but_keep_their_password(site, tmp_path):
    config, _ = site
    session = hub_session(config)
    session.add(
        UserInfo(username="tanaka", password=hash_password("my own secret 1"), is_authorized=False)
    )
    session.commit()
    session.close()
    session.get_bind().dispose()

    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    entries = read_roster(roster).entries
    paths = StatePaths.from_config(config)
    result = import_roster(
        entries,
        hub_db_url=paths.hub_db_url(config),
        records_url=f"sqlite:///{paths.records_db}",
        state_dir=paths.root,
        passwords_out=tmp_path / "out.csv",
    )
    assert result.accounts.created == ["suzuki", "yamada"]
    assert result.accounts.updated == ["tanaka"]
    assert sorted(result.accounts.passwords) == ["suzuki", "yamada"]
    assert result.passwords_file == tmp_path / "out.csv"
    assert [row[0] for row in read_passwords(tmp_path / "out.csv")[1:]] == ["suzuki", "yamada"]
    assert native_login(config, "tanaka", "my own secret 1") == "tanaka"
    assert user_infos(config)["tanaka"][2] == "tanaka@example.lg.jp"
    assert result.hub is None and result.hub_skipped

    # A changed 所属 is an update in the records database only.
    roster.write_text(ROSTER.replace("企画課", "政策課"), encoding="utf-8")
    again = import_roster(
        read_roster(roster).entries,
        hub_db_url=paths.hub_db_url(config),
        records_url=f"sqlite:///{paths.records_db}",
        state_dir=paths.root,
    )
    assert again.accounts.created == [] and again.accounts.updated == []
    assert again.people_updated == ["tanaka"]
    assert people(config)["tanaka"][2] == "政策課"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("dup.csv", "ユーザー名,氏名\ntanaka,田中\nTANAKA,田中\n".encode()),
        ("invalid.csv", "ユーザー名,氏名\ntanaka,田中\ntanaka taro,田中\n".encode()),
        ("unknown.csv", "ユーザー名,氏名,電話\ntanaka,田中,0120\n".encode()),
        ("latin1.csv", "username,name\ntanaka,Müller\n".encode("latin-1")),
    ],
)
def test_broken_roster_changes_nothing(site, tmp_path, capsys, name, content):
    config, config_file = site
    paths = StatePaths.from_config(config)
    roster = tmp_path / name
    roster.write_bytes(content)
    before = digest(paths.hub_db)

    assert main(["--config", str(config_file), "users", "import", str(roster)]) == 1
    err = capsys.readouterr().err
    assert "何も変更していません" in err
    assert digest(paths.hub_db) == before
    assert user_infos(config) == {}
    assert not paths.records_db.exists()
    assert password_files(config) == []


def test_broken_roster_message_lists_rows(site, tmp_path, capsys):
    config, _ = site
    roster = tmp_path / "r.csv"
    roster.write_text("ユーザー名,氏名\ntanaka,田中\nTANAKA,田中\n,佐藤\n", encoding="utf-8")
    assert run_import(config, roster) == 1
    err = capsys.readouterr().err
    assert "名簿 " + str(roster) + " に 2 件の問題があります。何も変更していません。" in err
    assert '3行目: ユーザー名 "TANAKA" は 2行目の "tanaka" と重複しています' in err
    assert "4行目: ユーザー名が空です" in err


def test_dry_run_changes_nothing(site, tmp_path, capsys):
    config, _ = site
    paths = StatePaths.from_config(config)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    before = digest(paths.hub_db)
    assert run_import(config, roster, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "（試行）アカウント: 新規 3人" in out
    assert digest(paths.hub_db) == before
    assert not paths.records_db.exists()
    assert password_files(config) == []


def test_dry_run_without_any_state(tmp_path, capsys):
    config = SiteConfig.model_validate({"hub": {"state_dir": str(tmp_path / "none")}})
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert run_import(config, roster, dry_run=True) == 0
    assert not (tmp_path / "none").exists()


def test_first_import_creates_a_private_hub_db(tmp_path):
    config = SiteConfig.model_validate(
        {"hub": {"state_dir": str(tmp_path / "state"), "hub_port": closed_port()}}
    )
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert run_import(config, roster) == 0
    paths = StatePaths.from_config(config)
    for path in (paths.hub_db, paths.records_db):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(user_infos(config)) == {"tanaka", "suzuki", "yamada"}


def test_existing_passwords_out_is_refused_and_nothing_committed(site, tmp_path):
    config, _ = site
    paths = StatePaths.from_config(config)
    taken = tmp_path / "taken.csv"
    taken.write_text("keep me", encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    with pytest.raises(ImportFailed, match="既にファイルがあります"):
        import_roster(
            read_roster(roster).entries,
            hub_db_url=paths.hub_db_url(config),
            records_url=f"sqlite:///{paths.records_db}",
            state_dir=paths.root,
            passwords_out=taken,
        )
    assert taken.read_text(encoding="utf-8") == "keep me"
    assert user_infos(config) == {}
    assert people(config) == {}


def test_hub_not_running_is_reported_and_skipped(site, tmp_path, capsys):
    config, _ = site
    ensure_secrets(StatePaths.from_config(config))  # a token exists, but nothing listens
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert run_import(config, roster) == 0
    out = capsys.readouterr().out
    assert f"ハブ（http://127.0.0.1:{config.hub.hub_port}/hub/api）が動いていません" in out
    assert "グループは次回の取り込みで登録されます" in out


def test_passwords_file_is_0600_whatever_the_umask_and_never_overwritten(tmp_path):
    old = os.umask(0)
    try:
        path = write_passwords_file(tmp_path / "p.csv", [("tanaka", "田中", "abc")])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_passwords_file(path, [])
    second = write_passwords_file(path, [], unique=True)
    assert second == tmp_path / "p-2.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(FileExistsError):
        write_passwords_file(link, [])
    assert not (tmp_path / "elsewhere.csv").exists()


def test_generate_password():
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200
    for password in passwords:
        assert len(password) == 12
        assert set(password) <= set(PASSWORD_ALPHABET)
        assert not set(password) & set("0O1lIo")
    assert len(generate_password(20)) == 20
