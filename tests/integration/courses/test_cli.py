"""`sunaba grade …` and `sunaba courses …` on the command line, as run on the hub machine."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest
from openpyxl import load_workbook

from sunaba.core.layout import exchange_root
from sunaba.exchange.store import ExchangeStore
from tests.support.hub import SUNABA

pytestmark = pytest.mark.integration


def sunaba(world, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SUNABA), "--config", str(world.hub.config_file), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def progress_items(err: str, action: str) -> list[str]:
    """The items of one-line-per-item progress (not a terminal), checked to count 1/N … N/N."""
    lines = [line for line in err.splitlines() if line.startswith(f"{action} ")]
    assert [line.split(" ")[1] for line in lines] == [
        f"{n}/{len(lines)}" for n in range(1, len(lines) + 1)
    ], err
    return [line.split(" ")[2].rstrip(":") for line in lines]


def test_collect_autograde_and_export_for_excel(sqlite_world, tmp_path):
    world = sqlite_world
    world.submitted(world.learner("bob"), "kiso", "hw1")
    latest = ExchangeStore(exchange_root(world.config)).latest_files("kiso", "hw1")
    for step in ("collect", "autograde"):
        result = sunaba(world, "grade", step, "kiso", "hw1")
        assert result.returncode == 0, result.stderr
        if step == "collect":  # one line per learner's submission as it is written
            collected = progress_items(result.stderr, "回収")
            assert collected == sorted({name.split("/", 1)[0] for name in latest})
            assert "bob" in collected and "bob: 回収しました" in result.stderr
    assert "bob:" in result.stdout and "点" in result.stdout
    out_csv, out_xlsx = tmp_path / "成績.csv", tmp_path / "成績.xlsx"
    result = sunaba(
        world, "grade", "export", "kiso", "hw1", "-o", str(out_csv), "-o", str(out_xlsx)
    )
    assert result.returncode == 0, result.stderr
    data = out_csv.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    by_login = {row["ユーザー名"]: row for row in rows}
    assert {"ann", "bob", "dee"} <= set(by_login)
    assert by_login["bob"]["満点"] == "4.0" and by_login["bob"]["受講状況"] == "受講中"
    sheet = load_workbook(out_xlsx).active
    assert sheet["A1"].value == "ユーザー名" and sheet.max_row == len(rows) + 1


def test_unknown_course_or_assignment_is_named(sqlite_world):
    result = sunaba(sqlite_world, "grade", "collect", "kiso", "hw9")
    assert result.returncode == 1
    assert "課題 'hw9' はコース kiso にありません（hw1、late）" in result.stderr
    result = sunaba(sqlite_world, "grade", "export", "nothing", "hw1")
    assert result.returncode == 1 and "コース 'nothing' はありません" in result.stderr


def test_courses_check_list_and_sync(sqlite_world):
    world = sqlite_world
    assert sunaba(world, "courses", "check").stdout.strip() == "問題はありません（2 コース）"
    listing = sunaba(world, "courses", "list").stdout
    assert "kiso  基礎コース  [同期済み]" in listing
    assert "締切 2020年4月1日（水） 17:00" in listing
    result = sunaba(world, "courses", "sync")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "変更はありません（すべて同期済み）"
