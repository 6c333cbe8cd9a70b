"""Plain `assert` test cells: a kernel that hides failures is caught by the probes.

A small course of its own whose test cells are plain asserts (no grader, no judge) is
autograded through `SandboxedAutograder`, as learners are. Each attacker hands in one wrong
answer and tampers with the kernel in an answer cell: an input transformer that drops assert
lines, a patched `showtraceback`, a `sys.settrace` that jumps over assert lines. Their
autograded test cells from the tampering on score 0, are flagged for manual grading in the
gradebook, and the report and the cells say why in Japanese. The honest submissions score
exactly as stock `nbgrader autograde` scores them, with no flag.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sunaba.config.loader import validate
from sunaba.courses.accounts import ensure_grader
from sunaba.courses.course_settings import course_nbgrader_config
from sunaba.courses.layout import CoursePaths, grader_account
from sunaba.courses.model import load_course_file
from sunaba.exchange.archive import collect_files
from sunaba.grading.cycle import SandboxedAutograder
from sunaba.grading.runner import files_from, run_step
from tests.support.courses import tar_of
from tests.support.grading import gradebook_scores, stock_autograde, stock_course_copy
from tests.support.hub import PREFIX

pytestmark = pytest.mark.integration

COURSE, ASSIGNMENT = "probecourse", "hw"
NOTE = "採点中に、テストの失敗を隠す細工が見つかりました"
TEST_ANSWER = "assert answer() == 7919\n"
TEST_DOUBLE = (
    "def test_double():\n    assert double(4) == 8\n    assert double(-1) == -2\n"
    "    return True\n\ntest_double()\n"
)
RIGHT_DOUBLE = "def double(x):\n    return 2 * x\n"
WRONG = "def answer():\n    return 7918\n"

HONEST = {
    "right": {"answer": "def answer():\n    return 7919\n", "double": RIGHT_DOUBLE},
    "wrong": {"answer": WRONG, "double": RIGHT_DOUBLE},
    "broken": {"answer": "def answer():\n    raise NotImplementedError()\n", "double": ""},
}
ATTACKS = {
    "transformer": WRONG + "def drop_asserts(lines):\n"
    "    kept = [l for l in lines if not l.lstrip().startswith('assert')]\n"
    "    return kept or ['pass\\n']\n"
    "get_ipython().input_transformers_post.append(drop_asserts)\n",
    "tracebacks": WRONG + "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
    "ip._showtraceback = lambda *a, **k: None\n",
    # Jumps from an assert line to the next line that is not one, wherever Python allows.
    "tracer": "def answer():\n    return 7919\nimport linecache, sys\n"
    "def local(frame, event, arg):\n"
    "    if event == 'line':\n"
    "        lines = linecache.getlines(frame.f_code.co_filename)\n"
    "        here = frame.f_lineno\n"
    "        if here <= len(lines) and lines[here - 1].lstrip().startswith('assert'):\n"
    "            for target in range(here + 1, len(lines) + 1):\n"
    "                if not lines[target - 1].lstrip().startswith('assert'):\n"
    "                    try:\n"
    "                        frame.f_lineno = target\n"
    "                    except ValueError:\n"
    "                        pass\n"
    "                    break\n"
    "    return local\n"
    "def tracer(frame, event, arg):\n"
    "    return local if 'ipykernel' in frame.f_code.co_filename else None\n"
    "sys.settrace(tracer)\n",
}


def _source_notebook() -> nbformat.NotebookNode:
    def meta(grade_id, *, grade=False, solution=False, locked=False, points=0):
        data = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked}
        if grade:
            data["points"] = points
        return {"nbgrader": {**data, "schema_version": 3}}

    return new_notebook(
        cells=[
            new_markdown_cell("# 宿題\n\n`answer()` と `double(x)` を書いてください。"),
            new_code_cell("import math\n", metadata=meta("setup", locked=True)),
            new_code_cell(
                "### BEGIN SOLUTION\ndef answer():\n    return 7919\n### END SOLUTION\n",
                metadata=meta("answer", solution=True),
            ),
            new_code_cell(
                "### BEGIN SOLUTION\n" + RIGHT_DOUBLE + "### END SOLUTION\n",
                metadata=meta("double", solution=True),
            ),
            new_code_cell(
                TEST_DOUBLE, metadata=meta("test_double", grade=True, locked=True, points=1)
            ),
            new_code_cell(
                TEST_ANSWER, metadata=meta("test_answer", grade=True, locked=True, points=2)
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.fixture(scope="module")
def course_world():
    tag = secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix="sunaba-test-probe-"))
    root.chmod(0o755)  # the grader account reaches its course directory below
    (root / "courses" / COURSE).mkdir(parents=True)
    (root / "courses" / COURSE / "course.yaml").write_text(
        yaml.safe_dump(
            {
                "id": COURSE,
                "title": {"ja": "確認用テストのテスト"},
                "instructors": ["teach"],
                "assignments": [
                    {"id": ASSIGNMENT, "title": {"ja": "宿題"}, "source": "hw", "points": 3}
                ],
            },
            allow_unicode=True,
        )
    )
    folder = root / "exercises" / COURSE / "hw"
    folder.mkdir(parents=True)
    nbformat.write(_source_notebook(), str(folder / "hw.ipynb"))
    config = validate(
        {
            "hub": {"state_dir": str(root / "state"), "prefix": str(PREFIX)},
            "sandbox": {"user_prefix": f"sbt{tag}-"},
            "courses": {
                "directory": str(root / "courses"),
                "exercises": str(root / "exercises"),
            },
            "checks": {"graders": str(root / "graders")},  # none: no judge runs
            "grading": {"cell_timeout": 20},
        },
        "probe test",
    )
    try:
        yield root, config
    finally:
        subprocess.run(["userdel", grader_account(config, COURSE)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def _submission(release: nbformat.NotebookNode, answers: dict) -> bytes:
    notebook = nbformat.from_dict(json.loads(nbformat.writes(release)))
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nbformat.writes(notebook).encode("utf-8")


def _prepare(root: Path, config) -> tuple:
    course = load_course_file(root / "courses" / COURSE / "course.yaml")
    ensure_grader(config, COURSE)
    run_step(
        config, COURSE, "setup", files={"nbgrader_config.json": course_nbgrader_config(course)}
    )
    source = collect_files(root / "exercises" / COURSE / "hw", max_bytes=2**30)
    run_step(config, COURSE, "put_source", stdin=tar_of(source), assignment=ASSIGNMENT)
    generated = run_step(config, COURSE, "generate", assignments=[{"id": ASSIGNMENT, "due": None}])
    release = nbformat.reads(
        files_from(generated[ASSIGNMENT]["files"])["hw.ipynb"].decode("utf-8"), as_version=4
    )
    attacks = {s: {"answer": a, "double": RIGHT_DOUBLE} for s, a in ATTACKS.items()}
    attacks["tracer"]["double"] = "def double(x):\n    return 2 * x + 1\n"  # wrong, skipped
    answers = {**HONEST, **attacks}
    archive = tar_of(
        {
            f"{student}/20250401T000000.000000Z/hw.ipynb": _submission(release, cells)
            for student, cells in answers.items()
        }
    )
    run_step(config, COURSE, "collect", stdin=archive, assignment=ASSIGNMENT)
    return course, course.assignment(ASSIGNMENT)


def _stock_scores(root: Path, config, paths: CoursePaths, students) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="sunaba-test-stock-"))
    try:
        scratch.chmod(0o711)
        copy = stock_course_copy(config, COURSE, paths.root, scratch / "c", students=set(students))
        completed = stock_autograde(config, COURSE, ASSIGNMENT, copy)
        return gradebook_scores(config, copy, ASSIGNMENT, students), completed.stderr[-3000:]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_tampered_kernels_lose_the_points_after_tampering_and_honest_scores_are_stock(
    course_world,
):
    root, config = course_world
    course, assignment = _prepare(root, config)
    paths = CoursePaths.of(config, COURSE)
    students = sorted({**HONEST, **ATTACKS})

    stock, stderr = _stock_scores(root, config, paths, students)
    assert {s: stock[s] for s in HONEST} == {"right": 3.0, "wrong": 1.0, "broken": 0.0}, stderr
    # Stock nbgrader believes a kernel that drops the asserts: full marks for a wrong answer.
    assert stock["transformer"] == 3.0, stderr

    results = SandboxedAutograder(config).autograde(course, assignment, students)
    assert all(r.ok for r in results.values()), results
    assert {s: results[s].score for s in HONEST} == {s: stock[s] for s in HONEST}
    assert not any(results[s].needs_manual_grade for s in HONEST)
    assert not any(NOTE in note for s in HONEST for note in results[s].notes)

    # The answer cell (the third cell) tampered; the test cells after it earn nothing.
    assert {s: results[s].score for s in ATTACKS} == dict.fromkeys(ATTACKS, 0.0)
    for student in ATTACKS:
        result = results[student]
        assert result.needs_manual_grade, student
        assert [n for n in result.notes if NOTE in n] == [
            "hw.ipynb: 採点中に、テストの失敗を隠す細工が見つかりました（上から 2 番目のセル以降）。"
            "このセル以降の自動採点の点数は 0 点とし、教員が手で確認します。"
        ], result.notes
        flagged = {
            q["cell"]: (q["score"], q["needs_manual_grade"])
            for q in result.questions
            if not q["manual"]
        }
        assert flagged == {"test_double": (0.0, True), "test_answer": (0.0, True)}, student
        path = paths.root / "autograded" / student / ASSIGNMENT / "hw.ipynb"
        cells = json.loads(path.read_text())["cells"]
        for cell in cells[4:]:
            assert cell["outputs"][0]["ename"] == "TamperingDetected", student
            assert NOTE in cell["outputs"][0]["evalue"]
