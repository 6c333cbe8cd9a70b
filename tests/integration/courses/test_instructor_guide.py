"""The instructor's guide, run: every command in docs/tutorials/first-assignment.md and the
grading how-tos is executed in order against a hub of its own, with the tutorial's files written
from the guide's own code blocks, so that the guide and Sunaba cannot drift apart.

Conventions of the guide's Markdown (the only thing this test reads):

- A fenced block with the info string `sh` is a shell script, run with `bash -euo pipefail` from
  the working folder (the stand-in for Sunaba's folder on the server), as root, with
  `SUNABA_CONFIG` naming this test's site config and the prefix's `venv/bin` first on PATH.
  A ```text block that follows it (nothing but prose and blank lines between) is its expected
  output: each of its non-empty lines must appear in the command's output, in that order, with
  `…` matching anything.
- `<!-- file: PATH -->` on the line before a fenced block: the block is the file PATH (relative
  to the working folder), written when the guide reaches it.
- `<!-- notebook: PATH -->` … `<!-- /notebook -->`: the fenced blocks in between are the cells of
  the notebook PATH, in order: ```markdown a Markdown cell, ```python a code cell; a ```json block
  `{"nbgrader": {...}}` is the cell metadata of the cell after it (as pasted into JupyterLab).
- `<!-- learner -->` before a ```python block: code the learner runs in the fetched notebook, in
  the learner's own kernel after the notebook's setup cells; a ```text block after it is what
  `check`/`hint` show.
- `<!-- learner: ACTION -->` (beside prose describing buttons): the learner does ACTION (fetch,
  submit, fetch-feedback) through the API the assignment list's buttons call, and the test
  checks what the prose promises; `<!-- teacher: grade-by-hand -->`: the instructor grades the
  written answer through the formgrader's own API; `<!-- teacher: download-grades -->`: the
  instructor downloads the grades from the course page; `<!-- time: after-due -->`: time passes
  beyond the due date (the test moves the course's due date to the
  current minute, after the submission, and syncs).

Guide files are run in GUIDE order; later ones continue from the state the earlier left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sunaba.checks.grader import GraderDirectory
from sunaba.config.loader import load_config
from tests.support.course_texts import (
    as_checked,
    hint_code_spans,
    japanese_ui_labels,
    squeeze,
    unknown_labels,
)
from tests.support.courses import CourseWorld
from tests.support.hub import PREFIX, REPO, SunabaHub

pytestmark = pytest.mark.integration

DOCS = REPO / "docs"
TUTORIAL = DOCS / "tutorials" / "first-assignment.md"
GUIDE = [
    TUTORIAL,
    DOCS / "how-to" / "grading-by-hand.md",
    DOCS / "how-to" / "feedback-and-solutions.md",
    DOCS / "how-to" / "export-grades.md",
]

JST = timezone(timedelta(hours=9))
FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(
    r"^<!--\s*(file|notebook|/notebook|learner|teacher|time)(?::\s*(.*?))?\s*-->\s*$"
)


@dataclass
class Step:
    kind: str  # "file", "notebook", "sh", "learner", "learner-action"
    text: str = ""
    path: str = ""
    expected: str | None = None
    cells: list = field(default_factory=list)
    line: int = 0


def parse_guide(path: Path) -> list[Step]:
    """The guide's steps, in the order a reader meets them (see the module docstring)."""
    steps: list[Step] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    marker: tuple[str, str] | None = None
    notebook: Step | None = None
    metadata: dict | None = None
    last_runnable: Step | None = None  # an sh/learner step still waiting for its output block
    i = 0
    while i < len(lines):
        line = lines[i]
        found = MARKER.match(line.strip())
        if found:
            kind, arg = found.group(1), (found.group(2) or "").strip()
            if kind == "notebook":
                notebook = Step("notebook", path=arg, line=i + 1)
            elif kind == "/notebook":
                assert notebook is not None, f"{path}:{i + 1}: <!-- /notebook --> without a start"
                steps.append(notebook)
                notebook = None
            elif kind in ("learner", "teacher", "time") and arg:
                steps.append(Step(f"{kind}-action", text=arg, line=i + 1))
                last_runnable = None
            else:
                marker = (kind, arg)
            i += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            i += 1
            continue
        info = fence.group(1)
        start = i + 1
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        body = "\n".join(lines[start:i]) + "\n"
        i += 1
        if marker and marker[0] == "file":
            steps.append(Step("file", text=body, path=marker[1], line=start))
            last_runnable = None
        elif marker and marker[0] == "learner":
            last_runnable = Step("learner", text=body, line=start)
            steps.append(last_runnable)
        elif notebook is not None:
            if info == "json":
                metadata = json.loads(body)
                continue
            if info == "python":
                cell = new_code_cell(body.rstrip("\n"))
            elif info == "markdown":
                cell = new_markdown_cell(body.rstrip("\n"))
            else:
                raise AssertionError(f"{path}:{start}: a notebook cell must be python or markdown")
            if metadata:
                cell.metadata.update(metadata)
            metadata = None
            notebook.cells.append(cell)
        elif info == "sh":
            last_runnable = Step("sh", text=body, line=start)
            steps.append(last_runnable)
        elif info == "text" and last_runnable is not None:
            last_runnable.expected = body
            last_runnable = None
        else:
            last_runnable = None
        marker = None
    assert notebook is None, f"{path}: <!-- notebook --> is never closed"
    return steps


def missing_lines(expected: str, output: str) -> list[str]:
    """Expected lines not found in the output in order (`…` matches anything)."""
    out = output.splitlines()
    position = 0
    missing = []
    for wanted in (line.strip() for line in expected.splitlines()):
        if not wanted:
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("…")))
        for index in range(position, len(out)):
            if pattern.search(out[index]):
                position = index + 1
                break
        else:
            missing.append(wanted)
    return missing


# ----------------------------------------------------------------------------------------------
# The site the guide is followed on


@dataclass
class Site:
    hub: SunabaHub
    work: Path
    world: CourseWorld
    env: dict
    learner_name: str = "demo-learner"
    teacher_name: str = "demo-teacher"
    ran: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site():
    if os.geteuid() != 0:
        pytest.fail("the guide's commands create Unix accounts: run this test as root")
    work = Path(tempfile.mkdtemp(prefix="sunaba-test-guide-"))
    work.chmod(0o755)
    hub = SunabaHub(
        extra={
            "courses": {
                "directory": str(work / "courses"),
                "exercises": str(work / "exercises"),
                "demo_accounts": False,  # the test signs demo-learner up itself
            },
            "checks": {"graders": str(work / "graders")},
        }
    )
    try:
        hub.start()
        config = load_config(hub.config_file, environ={})
        world = CourseWorld(hub=hub, config=config, data=work)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUNABA")}
        env["SUNABA_CONFIG"] = str(hub.config_file)
        env["PATH"] = f"{PREFIX / 'venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        yield Site(hub=hub, work=work, world=world, env=env)
    finally:
        hub.close()
        shutil.rmtree(work, ignore_errors=True)


def run_sh(site: Site, step: Step, where: str) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step.text],
        cwd=site.work,
        env=site.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    site.ran.append(step.text.strip())
    assert result.returncode == 0, (
        f"{where}: `{step.text.strip()}` exited {result.returncode}:\n{output}\n"
        f"{site.hub.log_tail(30)}"
    )
    if step.expected is not None:
        missing = missing_lines(step.expected, output)
        assert not missing, f"{where}: the output lacks {missing}; it was:\n{output}"


def learner_kernel_prelude(site: Site, notebook_path: Path) -> str:
    """What the learner has run before the guide's snippet: the notebook's setup cells; `check`
    and `hint` show their text (JupyterLab shows the same as HTML)."""
    notebook = nbformat.read(str(notebook_path), as_version=4)
    setup = [
        c.source
        for c in notebook.cells
        if c.cell_type == "code"
        and str(c.metadata.get("nbgrader", {}).get("grade_id", "")).startswith("setup")
    ]
    parts = notebook_path.relative_to(site.work / "exercises").parts
    return "\n".join(
        [
            "import sunaba.checks as _checks",
            "_checks._show = lambda feedback: print(repr(feedback))",
            f"_checks.set_exercise({parts[0]!r}, {parts[1]!r})",
            *setup,
        ]
    )


def follow(site: Site, path: Path, context: dict) -> None:
    """Do every step of one guide file, in order."""
    for step in parse_guide(path):
        where = f"{path.relative_to(REPO)}:{step.line}"
        if step.kind == "file":
            target = site.work / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text, encoding="utf-8")
        elif step.kind == "notebook":
            notebook = new_notebook(cells=step.cells)
            notebook.metadata["kernelspec"] = {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
            target = site.work / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, str(target))
            context["notebook"] = target
        elif step.kind == "sh":
            run_sh(site, step, where)
        elif step.kind == "learner":
            learner = context["learner"]
            if not context.get("prelude_ran"):
                prelude = learner_kernel_prelude(site, context["notebook"])
                outcome = site.hub.run(learner, prelude, timeout=120)
                assert outcome["status"] == "ok", f"{where}: setup cells: {outcome}"
                context["prelude_ran"] = True
            outcome = site.hub.run(learner, step.text, timeout=120)
            assert outcome["status"] == "ok", f"{where}: {outcome}"
            if step.expected is not None:
                missing = missing_lines(step.expected, outcome["stdout"])
                assert not missing, (
                    f"{where}: the learner sees {outcome['stdout']!r}, not {missing}"
                )
        elif step.kind == "learner-action":
            context.setdefault("actions", []).append(step.text)
            LEARNER_ACTIONS[step.text](site, context)
        elif step.kind == "teacher-action":
            context.setdefault("actions", []).append(step.text)
            TEACHER_ACTIONS[step.text](site, context)
        elif step.kind == "time-action":
            context.setdefault("actions", []).append(step.text)
            TIME_ACTIONS[step.text](site, context)


# What a learner does with the assignment list's buttons, through the same API the buttons use.


def fetch_assignment(site: Site, context: dict) -> None:
    """The learner logs in (after the course was published, as in the guide) and fetches."""
    if "learner" not in context:
        context["learner"] = site.hub.new_learner(site.learner_name)
        site.hub.spawn(context["learner"])
    learner = context["learner"]
    fetched = site.world.lab(
        learner, "POST", "assignments/fetch", course_id="renshu", assignment_id="jinko"
    )
    assert fetched["success"], fetched


def submit_answers(site: Site, context: dict) -> None:
    """Write the answers into the fetched notebook as the learner would, then 提出."""
    learner = context["learner"]
    home = site.hub.home_of(learner)
    path = home / "renshu" / "jinko" / "jinko.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    answers = {
        "q1_answer": 'total = table["人口"].sum()',
        "q2_answer": "避難所の収容人数が地区の人口に見合っているかを確かめるのに使えます。",
    }
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(notebook, str(path))
    owner = path.parent.stat()
    os.chown(path, owner.st_uid, owner.st_gid)
    result = site.world.lab(
        learner, "POST", "assignments/submit", course_id="renshu", assignment_id="jinko"
    )
    assert result["success"], result
    context["submitted_at"] = datetime.now(UTC)


def fetch_feedback(site: Site, context: dict) -> None:
    """「フィードバックを取得」: the feedback carries the hand-written comment and no hidden test;
    the model solution comes along only once the due date has passed."""
    learner = context["learner"]
    result = site.world.lab(
        learner, "POST", "assignments/fetch_feedback", course_id="renshu", assignment_id="jinko"
    )
    assert result["success"], result
    folder = site.hub.home_of(learner) / "renshu" / "jinko"
    pages = list(folder.rglob("jinko.html"))
    assert len(pages) == 1, pages
    assert pages[0].relative_to(folder).parts[0] == "feedback", pages  # where the guide says
    page = pages[0].read_text(encoding="utf-8")
    assert context["manual_comment"] in page
    assert "HIDDEN TESTS" not in page and "assert_check(" not in page
    solutions = list(folder.rglob("解答例/jinko.ipynb"))
    if not context.get("after_due"):
        assert solutions == [], "a solution reached the learner before the due date"
        return
    assert len(solutions) == 1, list(folder.rglob("*"))
    assert solutions[0].relative_to(folder).parts[:2] == ("feedback", "解答例"), solutions
    solution = solutions[0].read_text(encoding="utf-8")
    assert 'total = table[\\"人口\\"].sum()' in solution
    assert "HIDDEN TESTS" not in solution and "assert_check(" not in solution
    assert "BEGIN SOLUTION" not in solution


LEARNER_ACTIONS = {
    "fetch": fetch_assignment,
    "submit": submit_answers,
    "fetch-feedback": fetch_feedback,
}


def after_due(site: Site, context: dict) -> None:
    """Time passes: the due date of the course file is moved to this minute (after the
    learner's submission) and synced, as if the guide were followed after the due date."""
    path = site.work / "courses" / "renshu" / "course.yaml"
    due = datetime.now(JST).replace(second=0, microsecond=0)  # a due date has minutes only
    while due <= context["submitted_at"]:  # the submission stays on time, as in the guide
        time.sleep(1)
        due = datetime.now(JST).replace(second=0, microsecond=0)
    text, count = re.subn(
        r"due: \S+ \S+", f"due: {due:%Y-%m-%d %H:%M}", path.read_text(encoding="utf-8")
    )
    assert count == 1
    path.write_text(text, encoding="utf-8")
    assert site.world.sync().ok
    context["after_due"] = True


TIME_ACTIONS = {"after-due": after_due}


def formgrader(site: Site, context: dict, method: str, path: str, **kwargs):
    """The course's formgrader as the instructor's browser calls it (through the hub)."""
    if "teacher" not in context:
        context["teacher"] = site.hub.new_learner(site.teacher_name)
    response = requests.request(
        method,
        f"{site.hub.url}/services/formgrader-renshu/formgrader/api/{path}",
        headers={"Authorization": f"token {context['teacher'].token}"},
        timeout=60,
        **kwargs,
    )
    assert response.ok, f"{method} {path}: {response.status_code} {response.text[:300]}"
    return response.json()


def grade_by_hand(site: Site, context: dict) -> None:
    """The course page links the formgrader; in 「Manual Grading」 the written answer gets 2
    points and a comment."""
    formgrader(site, context, "GET", "status")  # signs the instructor up
    course_page = context["teacher"].session.get(
        f"{site.hub.url}/services/sunaba-exchange/courses/renshu", timeout=60
    )
    assert course_page.status_code == 200, course_page.text[:300]
    assert "採点画面を開く（新しいタブ）" in course_page.text
    assert "/services/formgrader-renshu/formgrader" in course_page.text
    submitted = formgrader(site, context, "GET", "submitted_notebooks/jinko/jinko")
    mine = [n for n in submitted if n["student"] == site.learner_name]
    assert len(mine) == 1 and mine[0]["needs_manual_grade"], submitted
    grades = formgrader(site, context, "GET", "grades", params={"submission_id": mine[0]["id"]})
    written = next(g for g in grades if g["name"] == "q2_answer")
    assert written["max_score"] == 2 and written["needs_manual_grade"], written
    formgrader(site, context, "PUT", f"grade/{written['id']}", json={"manual_score": 2})
    comments = formgrader(site, context, "GET", "comments", params={"submission_id": mine[0]["id"]})
    comment = next(c for c in comments if c["name"] == "q2_answer")
    formgrader(site, context, "PUT", f"comment/{comment['id']}", json={"manual_comment": COMMENT})
    context["manual_comment"] = COMMENT


def download_grades(site: Site, context: dict) -> None:
    """The course page's 「成績を CSV で保存」 gives the table `export --detail` wrote."""
    page = context["teacher"].session.get(
        f"{site.hub.url}/services/sunaba-exchange/courses/renshu", timeout=60
    )
    assert "成績を Excel で保存" in page.text and "成績を CSV で保存" in page.text
    download = context["teacher"].session.get(
        f"{site.hub.url}/services/sunaba-exchange/courses/renshu/grades.csv", timeout=60
    )
    assert download.status_code == 200, download.text[:300]
    written = (site.work / "コース全体.csv").read_bytes().decode("utf-8-sig").splitlines()
    assert download.content.decode("utf-8-sig").splitlines()[0] == written[0]


COMMENT = "避難所の例が具体的で、よく書けています。"
TEACHER_ACTIONS = {"grade-by-hand": grade_by_hand, "download-grades": download_grades}


# ----------------------------------------------------------------------------------------------
# The tests, in the guide's order


@pytest.fixture(scope="module")
def context() -> dict:
    return {}


def test_the_guide_uses_only_conventions_this_test_runs():
    for path in GUIDE:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        infos = set(re.findall(r"^```(\S+)", text, re.MULTILINE))
        assert infos <= {"sh", "text", "yaml", "markdown", "python", "json"}, (path, infos)
        # Commands shown in other blocks would not be run: every `sunaba …` line is in an sh block.
        for step in parse_guide(path):
            if step.kind not in ("sh",):
                assert not re.search(r"^\s*sunaba\s", step.text, re.MULTILINE), (
                    f"{path}:{step.line}: a sunaba command outside an ```sh block"
                )


def test_every_label_the_guide_names_is_on_screen():
    """The guide and the course it writes name the learners' buttons as the screen does."""
    known = japanese_ui_labels()
    for path in GUIDE:
        unknown = unknown_labels(path.read_text(encoding="utf-8"), known)
        assert not unknown, f"{path}: 画面にないラベル: {unknown}"


def test_tutorial_from_nothing_to_a_published_assignment(site, context):
    """Files written from the guide, `sunaba courses check`, `sync`, `list`; the learner fetches
    the assignment, meets the typical mistake's message and the hint, and submits."""
    follow(site, TUTORIAL, context)
    assert context.get("actions") == ["fetch", "submit"], context.get("actions")
    assert any(cmd.startswith("sunaba courses sync") for cmd in site.ran)
    attempts = site.world.attempts("renshu", site.learner_name, "jinko")
    assert len(attempts) == 1


def test_tutorial_grader_keeps_its_promises(site):
    """The tutorial's grader file obeys the rules it teaches: hints, typical mistakes that get
    their own message, a snippet that passes after the setup cell, and the notebook's 「ヒント」
    code is part of that snippet."""
    graders = GraderDirectory(site.work / "graders")
    question = graders.question("renshu", "jinko", "q1")
    assert len(question.hints) >= 2 and len(question.mistakes) >= 2
    for mistake in question.mistakes:
        assert question.judge(as_checked(mistake.example_value())).messages[0] == mistake.message
    notebook = nbformat.read(
        str(site.work / "exercises" / "renshu" / "jinko" / "jinko.ipynb"), as_version=4
    )
    setup = next(c.source for c in notebook.cells if 'grade_id": "setup' in json.dumps(c.metadata))
    for snippet in question.snippets:
        namespace: dict = {}
        exec(setup, namespace)  # noqa: S102 - the guide's own setup cell
        assert question.judge(as_checked(eval(snippet, namespace))).ok, snippet  # noqa: S307
    spans = hint_code_spans(notebook)
    assert spans and all(
        any(squeeze(s) in squeeze(snippet) for snippet in question.snippets) for s in spans
    ), spans


@pytest.mark.parametrize(
    "guide", [p for p in GUIDE if p != TUTORIAL], ids=lambda p: p.name.removesuffix(".md")
)
def test_how_to(site, context, guide):
    assert guide.exists(), f"{guide} is missing"
    assert "learner" in context, "the tutorial did not run"
    follow(site, guide, context)
