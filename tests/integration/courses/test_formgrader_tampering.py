"""The formgrader's own autograde button treats a tampered kernel as `sunaba grade autograde`
does: the test cells after the tampering score 0, say why in Japanese, and are flagged for
manual grading in the gradebook, so the formgrader lists them. An honest submission graded by
the same button is not flagged.

The instructor presses the button through the hub, as the browser does (nbgrader's
`api/submission/<assignment>/<student>/autograde`); the formgrader runs nbgrader's steps as
the course's grader account and the learner's code runs in a grading sandbox.
"""

from __future__ import annotations

import json

import nbformat
import pytest
import requests

from sunaba.core.layout import CoursePaths
from sunaba.grading.runner import run_step
from tests.support.grading import collect_notebooks

pytestmark = pytest.mark.integration

COURSE, ASSIGNMENT = "kiso", "hw1"
NOTE = "採点中に、テストの失敗を隠す細工が見つかりました"
ANSWERS = {
    "fg-honest": "def answer():\n    return 42\n",
    # A wrong answer, and an input transformer that drops every later assert line.
    "fg-tamper": "def answer():\n    return 41\n"
    "def drop_asserts(lines):\n"
    "    kept = [l for l in lines if not l.lstrip().startswith('assert')]\n"
    "    return kept or ['pass\\n']\n"
    "get_ipython().input_transformers_post.append(drop_asserts)\n",
}


def _submission(release: nbformat.NotebookNode, answer: str) -> bytes:
    notebook = nbformat.from_dict(json.loads(nbformat.writes(release)))
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
            cell.source = answer
    return nbformat.writes(notebook).encode("utf-8")


def _press_autograde(world, teacher, student: str) -> dict:
    response = requests.post(
        f"{world.hub.url}/services/formgrader-{COURSE}/formgrader/api/submission/"
        f"{ASSIGNMENT}/{student}/autograde",
        headers={"Authorization": f"token {teacher.token}"},
        timeout=600,
    )
    assert response.ok, f"{response.status_code} {response.text[:500]}"
    return response.json()


def test_formgrader_button_flags_a_tampered_kernel_for_manual_grading(sqlite_world):
    world = sqlite_world
    paths = CoursePaths.of(world.config, COURSE)
    release = nbformat.read(paths.root / "release" / ASSIGNMENT / "problem.ipynb", as_version=4)
    collect_notebooks(
        world.config,
        COURSE,
        ASSIGNMENT,
        "problem.ipynb",
        {student: _submission(release, answer) for student, answer in ANSWERS.items()},
    )
    teacher = world.learner("teach", spawn=False)
    for student in ANSWERS:
        reply = _press_autograde(world, teacher, student)
        assert reply.get("success"), reply

    scores = run_step(world.config, COURSE, "scores", assignments=[ASSIGNMENT])[ASSIGNMENT]

    def tests_of(student: str) -> dict:
        return {
            q["cell"]: (q["score"], q["needs_manual_grade"])
            for q in scores[student]["questions"]
            if not q["manual"]
        }

    assert tests_of("fg-honest") == {"visible_test": (1.0, False), "hidden_test": (1.0, False)}
    # The transformer came in the answer cell: both test cells after it earn nothing and wait
    # for the instructor.
    assert tests_of("fg-tamper") == {"visible_test": (0.0, True), "hidden_test": (0.0, True)}
    assert scores["fg-tamper"]["needs_manual_grade"]

    def autograded(student: str) -> str:
        path = paths.root / "autograded" / student / ASSIGNMENT / "problem.ipynb"
        return path.read_text(encoding="utf-8")

    assert NOTE in autograded("fg-tamper")
    assert NOTE not in autograded("fg-honest")
