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
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sunaba.core.layout import CoursePaths
from sunaba.grading.cycle import SandboxedAutograder
from tests.support.grading import (
    nbgrader_meta,
    prepare_scratch_course,
    scratch_course,
    stock_scores,
)

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
    return new_notebook(
        cells=[
            new_markdown_cell("# 宿題\n\n`answer()` と `double(x)` を書いてください。"),
            new_code_cell("import math\n", metadata=nbgrader_meta("setup", locked=True)),
            new_code_cell(
                "### BEGIN SOLUTION\ndef answer():\n    return 7919\n### END SOLUTION\n",
                metadata=nbgrader_meta("answer", solution=True),
            ),
            new_code_cell(
                "### BEGIN SOLUTION\n" + RIGHT_DOUBLE + "### END SOLUTION\n",
                metadata=nbgrader_meta("double", solution=True),
            ),
            new_code_cell(
                TEST_DOUBLE,
                metadata=nbgrader_meta("test_double", grade=True, locked=True, points=1),
            ),
            new_code_cell(
                TEST_ANSWER,
                metadata=nbgrader_meta("test_answer", grade=True, locked=True, points=2),
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.fixture(scope="module")
def course_world():
    # No grader file: no judge runs, the test cells are plain asserts.
    with scratch_course(
        "probe", COURSE, ASSIGNMENT, title="確認用テストのテスト", source=_source_notebook()
    ) as world:
        yield world


def _submission(release: nbformat.NotebookNode, answers: dict) -> bytes:
    notebook = nbformat.from_dict(json.loads(nbformat.writes(release)))
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nbformat.writes(notebook).encode("utf-8")


def _prepare(root: Path, config) -> tuple:
    attacks = {s: {"answer": a, "double": RIGHT_DOUBLE} for s, a in ATTACKS.items()}
    attacks["tracer"]["double"] = "def double(x):\n    return 2 * x + 1\n"  # wrong, skipped
    answers = {**HONEST, **attacks}

    def submissions(release: nbformat.NotebookNode) -> dict:
        return {student: _submission(release, cells) for student, cells in answers.items()}

    return prepare_scratch_course(root, config, COURSE, ASSIGNMENT, submissions)


def test_tampered_kernels_lose_the_points_after_tampering_and_honest_scores_are_stock(
    course_world,
):
    root, config = course_world
    # The tracer's kernel never finishes a cell once it traces every line of ipykernel: its
    # three cells end at the cell timeout, which need not be the default's 20 s here.
    config = config.model_copy(deep=True)
    config.grading.cell_timeout = 5
    course, assignment = _prepare(root, config)
    paths = CoursePaths.of(config, COURSE)
    students = sorted({**HONEST, **ATTACKS})

    stock, stderr = stock_scores(config, COURSE, ASSIGNMENT, paths.root, students)
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
