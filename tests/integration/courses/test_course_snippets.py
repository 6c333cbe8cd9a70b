"""Following a notebook's own advice never fails its check: every snippet of every question a
notebook checks (`Question.snippets` in graders/<course>/<assignment>.py, the code the notebook
text or a hint suggests) is evaluated as one expression after the notebook's setup cells
(nbgrader grade_id starting with "setup"), in a fresh namespace, from the assignment folder,
and must pass the question. Collected from the content: a new assignment is tested by existing.

The courses' real datasets are fetched through the mirror (../shared/opendata) into a temporary
SUNABA_DATASETS_PATH, as the check service and the grading sandbox see them. Answers go through the wire format
of `check`, as a learner's do."""

from __future__ import annotations

import os

import pytest

from sunaba.checks.grader import GraderDirectory
from tests.support.course_texts import (
    GRADERS,
    as_checked,
    checked_questions,
    grader_path,
    notebooks,
    real_datasets,  # noqa: F401 - fixture
    setup_cells,
)

pytestmark = pytest.mark.integration


def lists_snippets(notebook) -> bool:
    """Whether a question the notebook checks names a snippet (reading the grader file only)."""
    path = grader_path(notebook.course, notebook.assignment)
    if not path.is_file():
        return True  # the test then names the missing grader file
    questions = GraderDirectory(GRADERS).questions(notebook.course, notebook.assignment)
    return any(
        question.snippets
        for qid, question in questions.items()
        if qid in checked_questions(notebook.read())
    )


CASES = [
    pytest.param(nb, id=nb.id)
    for nb in notebooks()
    if checked_questions(nb.read()) and lists_snippets(nb)
]


@pytest.fixture(scope="module")
def graders(real_datasets) -> GraderDirectory:  # noqa: F811
    os.environ.setdefault("MPLBACKEND", "Agg")
    return GraderDirectory(GRADERS)


def run_setup(notebook, monkeypatch) -> dict:
    """A fresh namespace after the notebook's setup cells, run from the assignment folder."""
    monkeypatch.chdir(notebook.path.parent)
    namespace: dict = {"__name__": "__main__"}
    for number, source in enumerate(setup_cells(notebook.read()), start=1):
        exec(compile(source, f"{notebook.id} setup cell {number}", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("notebook", CASES)
def test_every_snippet_passes_its_question(graders, notebook, monkeypatch):
    import matplotlib.pyplot as plt

    path = grader_path(notebook.course, notebook.assignment)
    assert path.is_file(), f"{path} がありません"
    questions = graders.questions(notebook.course, notebook.assignment)
    failures = []
    tried = 0
    for qid in checked_questions(notebook.read()):
        question = questions.get(qid)
        if question is None:
            failures.append(f"{qid}: {path} にこの問題がありません")
            continue
        for snippet in question.snippets:
            namespace = run_setup(notebook, monkeypatch)  # a fresh one for every snippet
            tried += 1
            try:
                answer = eval(compile(snippet, f"{qid} snippet", "eval"), namespace)  # noqa: S307
                verdict = question.judge(as_checked(answer))
            except Exception as exc:  # noqa: BLE001 - reported with the snippet below
                failures.append(f"{qid}: {snippet}\n    → {type(exc).__name__}: {exc}")
                continue
            finally:
                plt.close("all")
            if not verdict.ok:
                failures.append(f"{qid}: {snippet}\n    → {verdict.text()}")
    assert tried > 0, f"{notebook.id}: no snippet was tried"
    assert not failures, f"{notebook.id}: snippets that fail their check:\n" + "\n".join(failures)
