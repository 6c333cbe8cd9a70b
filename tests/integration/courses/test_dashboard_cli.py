"""`sunaba grade export --detail` after a real autograde: per-question scores from the gradebook,
manual grading shown as waiting, the same content as the dashboard's download; and the
dashboard itself no longer calls a submission waiting for a written answer 採点済み."""

from __future__ import annotations

import csv
import io

import nbformat
import pytest
from openpyxl import load_workbook

from tests.integration.courses.test_cli import sunaba
from tests.integration.courses.test_dashboard import get

pytestmark = pytest.mark.integration


def test_detail_export_after_autograde(sqlite_world, tmp_path):
    world = sqlite_world
    bob = world.learner("bob")
    folder = world.hub.home_of(bob) / "kiso" / "hw1"
    if not folder.exists():
        fetched = world.lab(bob, "POST", "assignments/fetch", course_id="kiso", assignment_id="hw1")
        assert fetched["success"], fetched
    # The code left blank (0 points); a written answer, which waits for a grader.
    notebook = nbformat.read(str(folder / "problem.ipynb"), as_version=4)
    notebook.cells[-1].source = "42 にしたのは、例にそう書いてあったからです。"
    nbformat.write(notebook, str(folder / "problem.ipynb"))
    world.submitted(bob, "kiso", "hw1")
    for step in ("collect", "autograde"):
        result = sunaba(world, "grade", step, "kiso", "hw1")
        assert result.returncode == 0, result.stderr
    out_csv, out_xlsx = tmp_path / "詳細.csv", tmp_path / "詳細.xlsx"
    result = sunaba(
        world, "grade", "export", "kiso", "--detail", "-o", str(out_csv), "-o", str(out_xlsx)
    )
    assert result.returncode == 0, result.stderr
    assert "人分" in result.stdout
    rows = list(csv.reader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    header = rows[0]
    bob = dict(zip(header, next(r for r in rows if r and r[0] == "bob"), strict=True))
    # The fixture notebook: visible_test (1 point), hidden_test (1), written (2, by hand).
    assert bob["宿題1 / visible_test"] == "0.0" and bob["宿題1 / hidden_test"] == "0.0"
    assert bob["宿題1 / written"] == ""  # not graded yet
    assert bob["宿題1 手動採点待ち"] == "はい（written）"
    assert bob["宿題1 / problem"] == "0.0" and bob["宿題1 満点"] == "4.0"
    assert "締切済みの宿題 得点" in header  # every assignment of the course
    sheet = load_workbook(out_xlsx)["成績"]
    assert [c.value for c in sheet[1]] == header

    # The dashboard's download holds the same table.
    teach = world.learner("teach", spawn=False)
    page_csv = get(world, teach, "courses/kiso/grades.csv").content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(page_csv)))[0] == header

    page = get(world, teach, "courses/kiso?assignment=hw1").text
    row = page.split('data-learner="bob"')[1].split("</tr>")[0]
    assert "手動採点待ち" in row and "採点済み" not in row
    assert "formgrader-kiso/formgrader/manage_students/bob/hw1" in row


def test_detail_export_of_one_assignment_and_wrong_calls(sqlite_world, tmp_path):
    world = sqlite_world
    out = tmp_path / "hw1.csv"
    result = sunaba(world, "grade", "export", "kiso", "hw1", "--detail", "-o", str(out))
    assert result.returncode == 0, result.stderr
    header = out.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert "宿題1 得点" in header and "締切済みの宿題" not in header
    missing = sunaba(world, "grade", "export", "kiso")
    assert missing.returncode == 2 and "--detail" in missing.stderr
    wrong = sunaba(world, "grade", "export", "kiso", "hw9", "--detail")
    assert wrong.returncode == 1 and "課題 'hw9' はコース kiso にありません" in wrong.stderr
