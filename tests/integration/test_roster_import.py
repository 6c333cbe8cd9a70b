"""`sunaba users import` against a running hub: good rosters create users who can log in,
broken ones change nothing."""

from __future__ import annotations

import csv
import stat
import subprocess

import pytest

from tests.support.hub import SUNABA, Learner

pytestmark = pytest.mark.integration


def _import(hub, path, *extra):
    return subprocess.run(
        [str(SUNABA), "--config", str(hub.config_file), "users", "import", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cp932_roster_creates_users_groups_and_passwords(hub, tmp_path):
    roster = tmp_path / "名簿.csv"
    roster.write_bytes(
        "ユーザー名,氏名,メールアドレス,所属,コース\n"
        "sato,佐藤 花子,sato@example.lg.jp,企画課,intro\n"
        "ＳＵＺＵＫＩ,鈴木 一郎,suzuki@example.lg.jp,税務課,intro、stats\n".encode("cp932")
    )
    out = tmp_path / "passwords.csv"
    result = _import(hub, roster, "--passwords-out", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    assert "suzuki" in result.stdout  # the normalised name is reported
    progress = [line.split("（")[0] for line in result.stderr.splitlines()]
    assert progress[:2] == ["登録 1/2 sato: 新規", "登録 2/2 suzuki: 新規"], result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    passwords = {row[0]: row[-1] for row in rows[1:]}
    assert set(passwords) == {"sato", "suzuki"}

    groups = {g["name"]: set(g["users"]) for g in hub.api("GET", "/groups").json()}
    assert groups["nbgrader-intro"] >= {"sato", "suzuki"}
    assert groups["nbgrader-stats"] >= {"suzuki"}

    learner = Learner(name="suzuki", password=passwords["suzuki"])
    hub.login(learner)
    assert learner.token


def test_broken_roster_changes_nothing(hub, tmp_path):
    before = {u["name"] for u in hub.api("GET", "/users").json()}
    roster = tmp_path / "broken.csv"
    roster.write_text(
        "ユーザー名,氏名,内線\nyamada,山田 太郎,1234\nyamada,山田 次郎,5678\nbad name,x,1\n",
        encoding="utf-8",
    )
    result = _import(hub, roster)
    assert result.returncode == 1
    assert "内線" in result.stderr  # unknown column named
    assert "3行目" in result.stderr  # duplicate reported with its row
    assert "4行目" in result.stderr
    after = {u["name"] for u in hub.api("GET", "/users").json()}
    assert after == before
    with pytest.raises(AssertionError):
        hub.login(Learner(name="yamada", password="anything-at-all"))
