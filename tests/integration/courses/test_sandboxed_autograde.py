"""Hostile submissions graded together with honest ones, through `cycle.autograde` on a real
course (real grader account, real nbgrader gradebook, real sandboxes).

Honest submissions must get exactly what stock `nbgrader autograde` gives them (run here on a
copy of the course, as the grader account, on the honest ones only: stock would run the hostile
ones as the grader). Hostile ones must be contained: scored for what really passed, with a
Japanese explanation in the autograded notebook, and nothing outside the sandbox changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from sunaba.core.layout import CoursePaths
from sunaba.grading import cycle
from sunaba.grading.runner import run_step
from sunaba.progress import Progress
from tests.support.grading import (
    collect_notebooks,
    gradebook_scores,
    stock_autograde,
    stock_course_copy,
)

pytestmark = pytest.mark.integration

COURSE, ASSIGNMENT = "kiso", "hw1"
ANSWER_42 = "def answer():\n    return 42\n"

# student -> source of the answer cell (None: keep the release's answer cell untouched)
HONEST = {
    "right": ANSWER_42,
    "wrong": "def answer():\n    return 41\n",
    "broken": "def answer():\n    raise NotImplementedError()\n",
}
HOSTILE = {
    "looper": ANSWER_42 + "while True:\n    pass\n",
    "hog": ANSWER_42 + "hog = bytearray(8 * 1024**3)\n",
    "forker": ANSWER_42 + "import os\nwhile True:\n    try:\n        os.fork()\n"
    "    except OSError:\n        pass\n",
    "flooder": ANSWER_42
    + "import sys\nfor _ in range(10**6):\n    sys.stdout.write('x' * 10**5)\n",
    "killer": ANSWER_42 + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "deleter": ANSWER_42 + "import os, shutil\nfor name in os.listdir('.'):\n"
    "    shutil.rmtree(name) if os.path.isdir(name) else os.remove(name)\n",
    "snoop": ANSWER_42 + "import os, socket\nfound = [p for p in PATHS if os.path.exists(p)]\n"
    "print('FOUND', found)\ntry:\n    socket.create_connection(('127.0.0.1', HUB_PORT), timeout=2)\n"
    "    print('NETWORK open')\nexcept OSError as exc:\n    print('NETWORK closed', exc)\n",
    "editor": "def answer():\n    return 41\n",  # and the hidden test rewritten to pass
    "remover": "def answer():\n    return 41\n",  # and the hidden test cell removed
}
EXPECTED_HOSTILE = {
    "looper": 2.0,  # interrupted after the cell limit; answer() had been defined, tests ran
    "hog": 0.0,  # killed for memory: a dead kernel never passes
    "forker": 0.0,  # stopped at its process limit; the wedged kernel passes nothing
    "flooder": 2.0,  # output capped and interrupted; the tests ran afterwards
    "killer": 0.0,
    "deleter": 2.0,  # deleting its own files changes nothing: the notebook is held outside
    "snoop": 2.0,
    "editor": 1.0,  # the hidden test is restored from the source and fails
    "remover": 1.0,  # the removed hidden test counts zero
}


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _submission(release: nbformat.NotebookNode, student: str, answer: str, world) -> bytes:
    notebook = nbformat.from_dict(json.loads(nbformat.writes(release)))
    paths = CoursePaths.of(world.config, COURSE)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "answer":
            cell.source = answer.replace(
                "PATHS",
                repr(
                    [str(paths.gradebook), str(paths.root / "submitted"), str(world.hub.state_dir)]
                ),
            ).replace("HUB_PORT", str(world.hub.port))
        if grade_id == "hidden_test" and student == "editor":
            cell.source = "pass"
    if student == "remover":
        notebook.cells = [
            c
            for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") != "hidden_test"
        ]
    return nbformat.writes(notebook).encode("utf-8")


def _processes_of(uids: range) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_hostile_submissions_are_contained_and_honest_ones_score_as_stock(sqlite_world):
    world = sqlite_world
    config = world.config.model_copy(deep=True)
    config.grading.cell_timeout = 5
    config.grading.notebook_timeout = 40
    config.grading.memory_limit = "768M"
    paths = CoursePaths.of(config, COURSE)
    release = nbformat.read(paths.root / "release" / ASSIGNMENT / "problem.ipynb", as_version=4)
    answers = {**HONEST, **HOSTILE}
    collect_notebooks(
        config,
        COURSE,
        ASSIGNMENT,
        "problem.ipynb",
        {s: _submission(release, s, a, world) for s, a in answers.items()},
    )

    # What stock nbgrader gives the honest ones, on a copy holding only those (somewhere the
    # grader account can reach: pytest's tmp_path is private to root).
    scratch = Path(tempfile.mkdtemp(prefix="sunaba-test-stock-"))
    try:
        scratch.chmod(0o711)
        copy = stock_course_copy(
            config, COURSE, paths.root, scratch / "course", students=set(HONEST)
        )
        completed = stock_autograde(config, COURSE, ASSIGNMENT, copy)
        assert completed.returncode == 0, completed.stderr[-3000:]
        stock = gradebook_scores(config, copy, ASSIGNMENT, HONEST)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    before = _tree_digest(paths.root / "submitted")
    course, hw1 = cycle.find_course(config, COURSE, ASSIGNMENT)
    shown = io.StringIO()  # not a terminal: one line per submission as its sandbox finishes
    report = cycle.autograde(
        config, course, hw1, sorted(answers), tracker=Progress(0, "自動採点", shown)
    )
    assert not report.failed, report.lines
    lines = shown.getvalue().splitlines()
    assert len(lines) == len(answers), lines
    assert [line.split(" ")[1] for line in lines] == [
        f"{n}/{len(answers)}" for n in range(1, len(answers) + 1)
    ]
    assert {line.split(" ")[2].rstrip(":") for line in lines} == set(answers)

    scores = run_step(config, COURSE, "scores", assignments=[ASSIGNMENT])[ASSIGNMENT]
    got = {student: scores[student]["score"] for student in answers}
    assert {s: got[s] for s in HONEST} == stock
    assert stock == {"right": 2.0, "wrong": 1.0, "broken": 0.0}
    assert {s: got[s] for s in HOSTILE} == EXPECTED_HOSTILE

    def outputs(student: str) -> str:
        path = paths.root / "autograded" / student / ASSIGNMENT / "problem.ipynb"
        return json.dumps(json.loads(path.read_text())["cells"], ensure_ascii=False)

    assert "制限時間（5秒）を超えたため中断しました" in outputs("looper")
    assert "カーネル（コードを実行するプロセス）が途中で停止しました" in outputs("hog")
    assert "カーネルが停止したため、このセルは実行されませんでした" in outputs("killer")
    assert "講師の元のセルに戻して採点しました" in outputs("editor")
    assert "出力が上限" in outputs("flooder") and len(outputs("flooder")) < 6 * 2**20
    snoop = outputs("snoop")
    assert "FOUND []" in snoop and "NETWORK closed" in snoop, snoop
    report_text = "\n".join(report.lines)
    # Only the two who touched a test cell are reported; unchanged cells never are.
    assert report_text.count("書き換えられていました") == 1
    assert report_text.count("削除されていました") == 1
    assert "変更できないセル hidden_test が書き換えられていました" in report_text
    assert "変更できないセル hidden_test が削除されていました" in report_text

    # Nothing outside the sandboxes changed, and nothing of them is left.
    assert _tree_digest(paths.root / "submitted") == before
    base = config.grading.sandbox_uid_base
    assert _processes_of(range(base, base + 2 * 64)) == []
    assert not list(paths.root.parent.glob(".autograde-*"))
    left = [p for p in Path("/sys/fs/cgroup").glob("**/sunaba-grading*") if p.is_dir()]
    assert not left, [(p, sorted(c.name for c in p.iterdir() if c.is_dir())) for p in left]
