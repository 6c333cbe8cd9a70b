"""`sunaba backup` → wipe → `sunaba restore` on PostgreSQL loses nothing.

A real hub on PostgreSQL (hub and records databases at 127.0.0.1:5432) gets a learner with a
password, files written from the learner's own kernel, a records entry, an nbgrader gradebook
with a submission, and a released assignment in the exchange. The backup is taken while the hub
runs; then the databases are dropped, the learner's Unix account deleted and every directory
removed; after `sunaba restore` the same learner logs in with the same password and finds
everything where it was.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sunaba.config import load_config
from sunaba.records.db import ensure_records_schema, session_scope
from sunaba.records.models import Person
from sunaba.records.people import PersonData, upsert_people
from tests.support.hub import SUNABA, SunabaHub
from tests.support.postgres import (
    create_database,
    database_exists,
    drop_database,
    new_database_name,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

NOTE = "避難所の一覧を確認した。\n"


def sunaba(hub: SunabaHub, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNABA")}
    return subprocess.run(
        [str(SUNABA), "--config", str(hub.config_file), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def progress_items(err: str, action: str) -> list[str]:
    """The items of one-line-per-item progress (not a terminal), checked to count 1/N … N/N."""
    lines = err.splitlines()
    assert [line.split(" ")[:2] for line in lines] == [
        [action, f"{n}/{len(lines)}"] for n in range(1, len(lines) + 1)
    ], err
    return [line.split(" ", 2)[2].split("（")[0] for line in lines]


def make_course_data(config, learner_name: str) -> None:
    from nbgrader.api import Gradebook

    from sunaba.core.layout import CoursePaths, exchange_root
    from sunaba.exchange.store import ExchangeStore

    course = CoursePaths.of(config, "bousai")
    course.root.mkdir(parents=True)
    with Gradebook(f"sqlite:///{course.gradebook}") as gradebook:
        gradebook.add_assignment("hinanjo")
        gradebook.add_student(learner_name)
        gradebook.add_submission("hinanjo", learner_name)
    ExchangeStore(exchange_root(config)).release(
        "bousai", "hinanjo", {"hinanjo.ipynb": b'{"cells": []}'}
    )


def check_course_data(config, learner_name: str) -> None:
    from nbgrader.api import Gradebook

    from sunaba.core.layout import CoursePaths, exchange_root
    from sunaba.exchange.store import ExchangeStore

    course = CoursePaths.of(config, "bousai")
    with Gradebook(f"sqlite:///{course.gradebook}") as gradebook:
        assert gradebook.find_submission("hinanjo", learner_name) is not None
    files = ExchangeStore(exchange_root(config)).released_files("bousai", "hinanjo")
    assert files == {"hinanjo.ipynb": b'{"cells": []}'}


def test_backup_wipe_restore_keeps_users_files_and_grades(tmp_path, monkeypatch):
    # nbgrader's Gradebook runs the `alembic` command of the venv it is installed in.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    hub_db, records_db = new_database_name(), new_database_name()
    hub_url, records_url = create_database(hub_db), create_database(records_db)
    hub = SunabaHub(extra={"hub": {"db_url": hub_url}, "records": {"db_url": records_url}})
    try:
        hub.start()
        config = load_config(hub.config_file, environ={})
        learner = hub.new_learner(f"bk{secrets.token_hex(2)}")
        hub.spawn(learner)
        wrote = hub.run(
            learner,
            "from pathlib import Path\n"
            "Path('report').mkdir()\n"
            f"Path('report/memo.txt').write_text({NOTE!r}, encoding='utf-8')\n"
            "print('saved')",
        )
        assert wrote["stdout"].strip() == "saved", wrote
        hub.stop_server(learner)
        ensure_records_schema(records_url)
        with session_scope(records_url) as session:
            upsert_people(session, [PersonData(login=learner.name, display_name="砂場 花子")])
        make_course_data(config, learner.name)

        made = sunaba(hub, "backup", "--dir", str(tmp_path / "backups"))
        assert made.returncode == 0, made.stderr
        parts = progress_items(made.stderr, "バックアップ")  # one line per part, with N/M
        assert parts[:2] == ["データベース hub", "データベース records"]
        assert f"homes/{hub.home_of(learner).name}" in parts
        (archive,) = (tmp_path / "backups").glob("sunaba-backup-*.tar.gz")
        assert archive.stat().st_mode & 0o077 == 0
        hub.stop()

        # Wipe: databases, the learner's account, every directory of the site.
        account = hub.account_of(learner)
        drop_database(hub_db)
        drop_database(records_db)
        subprocess.run(["userdel", account], check=True)
        from sunaba.core.layout import grading_root

        for path in (hub.home_root, hub.state_dir, grading_root(config)):
            shutil.rmtree(path)
        assert not database_exists(hub_db)

        restored = sunaba(hub, "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert f"アカウント {account} を作り直しました" in restored.stdout
        assert progress_items(restored.stderr, "復元")[:2] == [
            "データベース hub",
            "データベース records",
        ]
        assert f"homes/{hub.home_of(learner).name}" in progress_items(restored.stderr, "復元")

        home = hub.home_of(learner)
        assert pwd.getpwuid(home.stat().st_uid).pw_name == account
        assert oct(home.stat().st_mode & 0o777) == "0o700"
        assert oct(hub.state_dir.stat().st_mode & 0o777) == "0o700"

        hub.start()
        hub.login(learner)  # the same password: the hub database came back
        hub.spawn(learner)
        read = hub.run(learner, "print(open('report/memo.txt', encoding='utf-8').read(), end='')")
        assert read["stdout"] == NOTE, read
        with session_scope(records_url) as session:
            person = session.get(Person, learner.name)
            assert person is not None and person.display_name == "砂場 花子"
        check_course_data(config, learner.name)
    finally:
        hub.close()
        drop_database(hub_db)
        drop_database(records_db)


def test_restore_refuses_an_archive_that_is_not_a_backup(tmp_path):
    config_file = tmp_path / "sunaba.yaml"
    config_file.write_text(f"hub:\n  state_dir: {tmp_path / 'state'}\n", encoding="utf-8")
    bogus = tmp_path / "bogus.tar.gz"
    subprocess.run(["tar", "-czf", str(bogus), "-C", str(tmp_path), "sunaba.yaml"], check=True)
    result = subprocess.run(
        [str(SUNABA), "--config", str(config_file), "restore", str(bogus)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Sunaba のバックアップではありません" in result.stderr
    assert not (tmp_path / "state").exists()
