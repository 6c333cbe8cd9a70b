"""Backup archives on one machine (SQLite) and what restore refuses to do."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile

import pytest

from sunaba.cli import main
from sunaba.config.loader import validate
from sunaba.deploy.backup import BACKUP_PATHS, BackupError, backup, prune_backups
from sunaba.deploy.restore import restore


def site(tmp_path):
    return validate(
        {
            "hub": {"state_dir": str(tmp_path / "state")},
            "sandbox": {"home_root": str(tmp_path / "homes")},
        },
        "test",
    )


def test_live_sqlite_and_files_round_trip(tmp_path):
    config = site(tmp_path)
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "jupyterhub.log").write_text("noise")
    db = sqlite3.connect(state / "jupyterhub.sqlite")
    db.execute("CREATE TABLE users (name TEXT)")
    db.execute("INSERT INTO users VALUES ('tanaka')")
    db.commit()  # the connection stays open, as the hub's would
    (tmp_path / "homes" / "x").mkdir(parents=True)
    (tmp_path / "homes" / "x" / "a.txt").write_text("あ")
    os.link(tmp_path / "homes" / "x" / "a.txt", tmp_path / "homes" / "x" / "b.txt")
    os.symlink("a.txt", tmp_path / "homes" / "x" / "c.txt")
    archive = backup(config, tmp_path / "backups")
    db.close()
    for path in ("state", "homes"):
        shutil.rmtree(tmp_path / path)
    restore(config, archive)
    copy = sqlite3.connect(state / "jupyterhub.sqlite")
    assert copy.execute("SELECT name FROM users").fetchall() == [("tanaka",)]
    copy.close()
    assert (tmp_path / "homes" / "x" / "b.txt").read_text() == "あ"
    assert os.readlink(tmp_path / "homes" / "x" / "c.txt") == "a.txt"
    assert not (state / "logs").exists()
    assert oct(state.stat().st_mode & 0o777) == "0o700"


def progress_items(err: str, action: str) -> list[str]:
    """The items of one-line-per-item progress, checked to count 1/N, 2/N … N/N."""
    lines = [line for line in err.splitlines() if line.startswith(f"{action} ")]
    assert [line.split(" ")[1] for line in lines] == [
        f"{n}/{len(lines)}" for n in range(1, len(lines) + 1)
    ], err
    return [line.split(" ", 2)[2].split("（")[0] for line in lines]


def test_backup_and_restore_commands_show_each_part_off_a_terminal(tmp_path, capsys):
    config_file = tmp_path / "sunaba.yaml"
    config_file.write_text(
        f"hub:\n  state_dir: {tmp_path / 'state'}\nsandbox:\n  home_root: {tmp_path / 'homes'}\n",
        encoding="utf-8",
    )
    for learner in ("sbt-ito", "sbt-kato"):
        (tmp_path / "homes" / learner / "課題").mkdir(parents=True)
        (tmp_path / "homes" / learner / "課題" / "memo.txt").write_text(learner)
    (tmp_path / "state" / "exchange").mkdir(parents=True)
    (tmp_path / "state" / "cookie_secret").write_text("x")
    (tmp_path / "state" / "jupyterhub.pid").write_text("1")  # never backed up
    parts = ["homes/sbt-ito", "homes/sbt-kato", "state/cookie_secret", "state/exchange"]

    command = ["--config", str(config_file)]
    assert main([*command, "backup", "--dir", str(tmp_path / "b")]) == 0
    out, err = capsys.readouterr()
    assert progress_items(err, "バックアップ") == parts
    (archive,) = (tmp_path / "b").iterdir()
    assert out == f"バックアップを書き出しました: {archive}\n"

    for path in ("state", "homes"):
        shutil.rmtree(tmp_path / path)
    assert main([*command, "restore", str(archive)]) == 0
    out, err = capsys.readouterr()
    assert progress_items(err, "復元") == parts
    assert out.splitlines() == [
        f"  homes を {tmp_path / 'homes'} に復元しました",
        f"  state を {tmp_path / 'state'} に復元しました",
    ]
    assert (tmp_path / "homes" / "sbt-kato" / "課題" / "memo.txt").read_text() == "sbt-kato"

    assert main([*command, "restore", str(config_file)]) == 1
    assert "tar.gz として読めません" in capsys.readouterr().err


def test_old_archives_are_pruned(tmp_path):
    config = site(tmp_path)
    (tmp_path / "state").mkdir()
    from datetime import UTC, datetime

    made = [
        backup(config, tmp_path / "b", now=datetime(2026, 4, day, tzinfo=UTC)) for day in (1, 2, 3)
    ]
    assert prune_backups(tmp_path / "b", keep=2) == made[:1]
    assert sorted((tmp_path / "b").iterdir()) == made[1:]


def crafted(tmp_path, members: list[tuple[tarfile.TarInfo, bytes]]):
    path = tmp_path / "evil.tar.gz"
    manifest = json.dumps({"format": 1, "databases": {}, "paths": {"homes": {}}}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
        for info, data in members:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)
    return path


def test_restore_refuses_paths_that_leave_their_folder(tmp_path):
    outside = tmp_path / "outside.txt"
    info = tarfile.TarInfo("paths/homes/../../outside.txt")
    archive = crafted(tmp_path, [(info, b"pwned")])
    with pytest.raises(BackupError, match="フォルダーの外を指しています"):
        restore(site(tmp_path), archive)
    assert not outside.exists()


def test_restore_refuses_writing_through_a_symlink(tmp_path):
    link = tarfile.TarInfo("paths/homes/x")
    link.type = tarfile.SYMTYPE
    link.linkname = str(tmp_path / "elsewhere")
    through = tarfile.TarInfo("paths/homes/x/file")
    archive = crafted(tmp_path, [(link, b""), (through, b"pwned")])
    with pytest.raises(BackupError, match="シンボリックリンクの下にあります"):
        restore(site(tmp_path), archive)
    assert not (tmp_path / "elsewhere").exists()


def test_restore_refuses_devices(tmp_path):
    device = tarfile.TarInfo("paths/homes/null")
    device.type = tarfile.CHRTYPE
    with pytest.raises(BackupError, match="どれでもありません"):
        restore(site(tmp_path), crafted(tmp_path, [(device, b"")]))


def test_backup_paths_are_one_line_each():
    # Adding a directory is one entry here; areas can also add theirs by a hook.
    assert {"state", "homes", "courses"} <= set(BACKUP_PATHS)
