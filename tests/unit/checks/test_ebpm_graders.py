"""The graders of 「データで政策を考える」 (ebpm) on the real data, read through the mirror.

For every question a notebook checks: the model answer (the notebook's own solution, run here)
passes; every typical wrong answer kept beside the question gets its own message first; no
message or hint carries the expected value; every snippet the notebook suggests passes after
the notebook's setup cells. Skipped only when the open-data mirror is absent.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

from sunaba.checks.autograde import verdict as autograde_verdict
from sunaba.checks.grader import GraderDirectory
from sunaba.checks.wire import decode_answer, encode_answer
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch

REPO = Path(__file__).resolve().parents[3]
GRADERS = REPO / "graders"
EXERCISES = REPO / "exercises"
MIRROR = REPO.parent / "shared" / "opendata"
COURSE = "ebpm"
ASSIGNMENTS = ["logic-model", "per-capita", "before-after", "diff-in-diff", "policy-memo"]
DATASETS = [
    "ssdse-a-2026-municipalities",
    "ssdse-b-2025-prefecture-panel",
    "yaizu-traffic-accidents",
    "mhlw-covid19-daily-cases",
]
CHECK_CALL = re.compile(r'^check\("(q\d+)", (.+)\)\s*$', re.MULTILINE)


@pytest.fixture(scope="module", autouse=True)
def datasets(tmp_path_factory):
    """The course's real datasets fetched through the mirror, where load() looks first."""
    if not MIRROR.is_dir():
        pytest.skip(f"the open-data mirror {MIRROR} is absent (CI puts shared/ beside the clone)")
    plt.switch_backend("Agg")
    cache = tmp_path_factory.mktemp("ebpm-datasets")
    results = fetch(Catalogue([REPO / "datasets"]), cache, DATASETS, mirror=MIRROR)
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUNABA_DATASETS_PATH", str(cache))
        patch.setenv("MPLBACKEND", "Agg")
        yield cache


@pytest.fixture(scope="module")
def graders() -> GraderDirectory:
    return GraderDirectory(GRADERS)


def notebook(assignment: str):
    (path,) = sorted((EXERCISES / COURSE / assignment).glob("*.ipynb"))
    return nbformat.read(str(path), as_version=4)


def grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def run_setup(assignment: str) -> dict:
    """The names the notebook's setup cells define (what snippets may use)."""
    names: dict = {}
    for cell in notebook(assignment).cells:
        if cell.cell_type == "code" and grade_id(cell).startswith("setup"):
            exec(compile(cell.source, grade_id(cell), "exec"), names)  # noqa: S102
    return names


def run_solution(assignment: str) -> dict[str, object]:
    """Run the model solution (every locked and answer cell, not the graded tests) and
    return what each check("qN", …) cell would send."""
    names: dict = {}
    answers = {}
    for cell in notebook(assignment).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        found = CHECK_CALL.search(cell.source)
        if found:
            answers[found.group(1)] = eval(found.group(2), names)  # noqa: S307
        elif not meta.get("grade"):
            exec(compile(cell.source, grade_id(cell) or "cell", "exec"), names)  # noqa: S102
    return answers


def wire(answer):
    """What the check service receives."""
    return decode_answer(encode_answer(answer))


def numbers_in(value) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        return [n for item in value for n in numbers_in(item)]
    return []


def leaks(text: str, expected) -> list[str]:
    """Renderings of the expected value that a message or hint must not contain."""
    found = []
    for number in numbers_in(expected):
        if not math.isfinite(number) or abs(number) < 2:
            continue
        forms = {f"{number:.1f}", f"{number:.2f}"}
        if float(number).is_integer() and abs(number) >= 10:
            forms.add(str(int(number)))
        found += [form for form in forms if form in text]
    return found


def test_every_assignment_has_a_grader_and_a_notebook(graders):
    folders = sorted(p.name for p in (EXERCISES / COURSE).iterdir() if p.is_dir())
    assert folders == sorted(ASSIGNMENTS)
    assert graders.assignments(COURSE) == sorted(ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_checked_question_is_graded_with_hints_and_mistakes(graders, assignment):
    source = "\n".join(c.source for c in notebook(assignment).cells if c.cell_type == "code")
    checked = {question for question, _ in CHECK_CALL.findall(source)}
    questions = graders.questions(COURSE, assignment)
    assert checked, "every assignment has at least one autograded question"
    assert checked == set(questions)
    for question in questions.values():
        assert len(question.hints) >= 2, question.id
        assert len(question.mistakes) >= 2, question.id
        for later, earlier in zip(question.hints[1:], question.hints, strict=False):
            assert later != earlier


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_model_answers_pass(graders, assignment):
    answers = run_solution(assignment)
    questions = graders.questions(COURSE, assignment)
    for qid, answer in answers.items():
        result = questions[qid].judge(wire(answer))
        assert result.ok, (qid, result.messages)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_typical_mistakes_get_their_own_message(graders, assignment):
    for question in graders.questions(COURSE, assignment).values():
        for mistake in question.mistakes:
            result = question.judge(mistake.example_value())
            assert not result.ok, (question.id, mistake.message)
            assert result.messages[0] == mistake.message, (question.id, result.messages)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_messages_and_hints_never_give_the_answer(graders, assignment):
    for question in graders.questions(COURSE, assignment).values():
        if question.expected is None:
            continue
        expected = question.expected_value()
        texts = list(question.hints)
        for mistake in question.mistakes:
            texts += question.judge(mistake.example_value()).messages
        for text in texts:
            assert not leaks(text, expected), (question.id, text)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_snippets_the_notebook_suggests_pass(graders, assignment):
    names = run_setup(assignment)
    for question in graders.questions(COURSE, assignment).values():
        for snippet in question.snippets:
            plt.close("all")  # a notebook cell starts without the previous cell's figure
            answer = eval(snippet, dict(names))  # noqa: S307
            result = question.judge(wire(answer))
            assert result.ok, (question.id, snippet, result.messages)


def test_per_capita_q2_a_count_is_told_to_become_a_rate(graders):
    """The browser test enters the count, reads this message, takes a hint and fixes it."""
    names = run_setup("per-capita")
    question = graders.question(COURSE, "per-capita", "q2")
    count = eval('ssdse.loc["R22212", "一般診療所数"]', names)  # noqa: S307
    result = question.judge(wire(count))
    assert not result.ok
    assert result.messages[0].startswith("診療所の数（件数）のままです。")
    assert "10万人あたり" in result.messages[0]
    assert "100000" in question.hint(2) and question.hint(3) == (
        'ssdse.loc["R22212", "一般診療所数"] / ssdse.loc["R22212", "総人口"] * 100000 と書きます'
    )
    fixed = eval(question.snippets[0], names)  # noqa: S307
    assert question.judge(wire(fixed)).ok


def test_autograder_cells_agree_with_instant_checks(monkeypatch):
    monkeypatch.setenv("SUNABA_GRADERS_DIR", str(GRADERS))
    names = run_setup("per-capita")
    count = eval('ssdse.loc["R22212", "一般診療所数"]', names)  # noqa: S307
    judged = autograde_verdict("q2", count, course=COURSE, assignment="per-capita")
    assert not judged.ok and "10万人あたり" in judged.messages[0]
