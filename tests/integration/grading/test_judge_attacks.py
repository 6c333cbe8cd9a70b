"""Verdicts come from the judge outside the grading sandbox, never from the learner's kernel.

A small course of its own (course file, source notebook, grader file in a scratch directory, a
real grader account and gradebook) is autograded through `SandboxedAutograder`, as learners
are. Each attacker hands in a wrong answer and tries to get the points anyway: by reading the
graders, by hiding tracebacks, by rewriting the test cells with an input transformer, by
replacing `assert_check` and `check`, by rewriting the verdict with `sys.settrace`. None gets a
point; the honest submissions score exactly as stock `nbgrader autograde` scores them; neither
the autograded notebooks nor the feedback hold anything of the grader but verdict messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sunaba.core.layout import CoursePaths
from sunaba.grading.cycle import SandboxedAutograder
from sunaba.grading.runner import files_from, run_step
from tests.support.grading import (
    nbgrader_meta,
    prepare_scratch_course,
    scratch_course,
    stock_scores,
)

pytestmark = pytest.mark.integration

COURSE, ASSIGNMENT = "judgecourse", "hw"
SECRET = "GRADER-SECRET-5d1e"  # only in the grader file
MISTAKE = "よくある間違い: 1 だけずれています"  # a verdict message: may reach the learner
GRADER = f'''
# {SECRET}
from sunaba.checks.grader import Mistake, Question

QUESTIONS = [
    Question("q1", expected=lambda: 7919, hints=["{SECRET} ではありません"],
             mistakes=[Mistake("{MISTAKE}", example=lambda: 7918)]),
    Question("q2", expected=lambda: 15838),
]
'''
WRONG = "def answer():\n    return 7918\n"
SETUP = "from sunaba.checks import assert_check, check\n"
TEST_Q1 = 'assert_check("q1", answer())\n'
TEST_Q2 = (
    "assert answer() > 0\n### BEGIN HIDDEN TESTS\n"
    'assert_check("q2", answer() * 2)\n### END HIDDEN TESTS\n'
)

HONEST = {
    # A wrong check in the learner's own cell, then the right answer: full marks.
    "right": 'check("q1", 1)\ndef answer():\n    return 7919\n',
    "wrong": WRONG,
    "broken": "def answer():\n    raise NotImplementedError()\n",
}
ATTACKS = {
    "reader": WRONG + "import glob, os\n"
    "seen = [p for p in GRADER_PATHS if os.path.exists(p)]\n"
    "seen += glob.glob('/run/*/*.py') + glob.glob('/tmp/*/*.py')\n"
    "print('GRADERS SEEN', seen, os.environ.get('SUNABA_GRADERS_DIR'))\n"
    "for path in seen:\n    print(open(path).read())\n"
    "try:\n    from sunaba.checks.autograde import _graders\n"
    "    value = _graders(GRADERS_ROOT).question('judgecourse', 'hw', 'q1').expected_value()\n"
    "    def answer():\n        return value\n"
    "except Exception as exc:\n    print('EXPECTED UNREACHABLE', type(exc).__name__)\n",
    "tracebacks": WRONG + "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
    "ip._showtraceback = lambda *a, **k: None\n",
    "transformer": WRONG + "def drop_checks(lines):\n"
    "    kept = [l for l in lines if 'assert' not in l]\n"
    "    return kept or ['pass\\n']\n"
    "get_ipython().input_transformers_post.append(drop_checks)\n",
    "replacer": WRONG + "import sunaba.checks, sunaba.checks.autograde\n"
    "sunaba.checks.assert_check = sunaba.checks.autograde.assert_check = lambda *a, **k: None\n"
    "sunaba.checks.check = lambda *a, **k: None\n"
    "assert_check = check = lambda *a, **k: None\n",
    "tracer": WRONG + "import sys\nfrom sunaba.checks.judge import Verdict\n"
    "def local(frame, event, arg):\n"
    "    if event == 'line' and 'judged' in frame.f_locals:\n"
    "        frame.f_locals['judged'] = Verdict(True, [])\n"
    "    return local\n"
    "def tracer(frame, event, arg):\n"
    "    if frame.f_code.co_name == 'assert_check':\n"
    "        return local\n"
    "    return None\n"
    "sys.settrace(tracer)\n",
}


def _source_notebook() -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell("# 宿題\n\n`answer()` を書いてください。"),
            new_code_cell(SETUP, metadata=nbgrader_meta("setup", locked=True)),
            new_code_cell(
                "### BEGIN SOLUTION\ndef answer():\n    return 7919\n### END SOLUTION\n",
                metadata=nbgrader_meta("answer", solution=True),
            ),
            new_code_cell(
                TEST_Q1, metadata=nbgrader_meta("test_q1", grade=True, locked=True, points=2)
            ),
            new_code_cell(
                TEST_Q2, metadata=nbgrader_meta("test_q2", grade=True, locked=True, points=1)
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.fixture(scope="module")
def course_world():
    with scratch_course(
        "judge", COURSE, ASSIGNMENT, title="判定のテスト", source=_source_notebook(), grader=GRADER
    ) as world:
        yield world


def _submission(release: nbformat.NotebookNode, answer: str, root: Path) -> bytes:
    notebook = nbformat.from_dict(json.loads(nbformat.writes(release)))
    graders = root / "graders"
    paths = [str(graders / COURSE / f"{ASSIGNMENT}.py"), "/graders/judgecourse/hw.py"]
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer":
            cell.source = answer.replace("GRADER_PATHS", repr(paths)).replace(
                "GRADERS_ROOT", repr(str(graders))
            )
    return nbformat.writes(notebook).encode("utf-8")


def _prepare(root: Path, config) -> tuple:
    def submissions(release: nbformat.NotebookNode) -> dict:
        answers = {**HONEST, **ATTACKS}
        return {student: _submission(release, answer, root) for student, answer in answers.items()}

    return prepare_scratch_course(root, config, COURSE, ASSIGNMENT, submissions)


def test_forged_verdicts_earn_nothing_and_honest_scores_are_stock(course_world):
    root, config = course_world
    course, assignment = _prepare(root, config)
    paths = CoursePaths.of(config, COURSE)

    # Stock nbgrader on the honest ones, judging in its own kernel with the graders at hand.
    env = {
        "SUNABA_GRADERS_DIR": str(root / "graders"),
        "SUNABA_CHECK_COURSE": COURSE,
        "SUNABA_CHECK_ASSIGNMENT": ASSIGNMENT,
    }
    stock, stderr = stock_scores(config, COURSE, ASSIGNMENT, paths.root, HONEST, env=env)
    assert stock == {"right": 3.0, "wrong": 0.0, "broken": 0.0}, stderr

    students = sorted({**HONEST, **ATTACKS})
    results = SandboxedAutograder(config).autograde(course, assignment, students)
    assert all(r.ok for r in results.values()), results
    scores = {student: results[student].score for student in students}
    assert {s: scores[s] for s in HONEST} == stock
    assert {s: scores[s] for s in ATTACKS} == dict.fromkeys(ATTACKS, 0.0)

    def autograded(student: str) -> str:
        path = paths.root / "autograded" / student / ASSIGNMENT / "hw.ipynb"
        return json.dumps(json.loads(path.read_text())["cells"], ensure_ascii=False)

    reader = autograded("reader")
    assert "GRADERS SEEN [] None" in reader, reader
    assert "EXPECTED UNREACHABLE" in reader, reader
    # The judge's message reaches the learner: the test cell failed on the record.
    for student in ("tracebacks", "tracer"):
        assert MISTAKE in autograded(student), autograded(student)
    # Checks replaced: nothing reached the judge while the test cell ran.
    assert "判定プロセスにこのセルの答えが届いていません" in autograded("replacer")
    # Checks removed by a transformer: the probes between cells caught the kernel first.
    assert "テストの失敗を隠す細工が見つかりました" in autograded("transformer")

    run_step(config, COURSE, "feedback", assignment=ASSIGNMENT, students=students)
    found = run_step(config, COURSE, "feedback_files", assignment=ASSIGNMENT, students=students)
    assert set(found) == set(students)
    for student in students:
        text = autograded(student) + "".join(
            data.decode("utf-8", "replace") for data in files_from(found[student]["files"]).values()
        )
        assert SECRET not in text, student
        if student != "right":
            assert "7919" not in text, student  # the expected value
