"""One assignment of the EBPM course walked in the browser, on its real data.

The learner fetches it from 「課題一覧」, runs the setup cells, answers with a count where a rate
is asked and reads the check's specific message, takes a hint, fixes the answer (「正解です」)
and submits. The instructor autogrades in the formgrader and releases the feedback after the due
date, with the model solution. The learner fetches the feedback and reads the score and the
model solution. The test's copy of the course file holds only this assignment, with its due
date already past (the solution goes out only then; a late submission is accepted). The other
questions are answered as the model solution does, so the score must be every autograded point.
Screenshots go to artifacts/; how long each step took is printed.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import nbformat
import pytest
from playwright.sync_api import expect

from sunaba.checks.grader import GraderDirectory
from sunaba.exchange.plugin import SOLUTION_FOLDER
from sunaba.grading import cycle
from tests.e2e.browser import logged_in_page
from tests.support.hub import REPO
from tests.support.real_course import (
    autograded_points,
    fill_answers_code,
    grade_id,
    model_answers,
    source_notebook,
    start_real_course,
    total_points,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@dataclass(frozen=True)
class Walk:
    course: str
    assignment: str
    question: str
    solution_cell: str  # grade_id of the question's solution cell
    wrong: str  # what the learner types first
    mistake: str  # the specific message that answer must get
    hint: str  # a piece of the first hint
    right: str  # what the learner types after the hint


RATE = 'ssdse.loc["R22212", "一般診療所数"] / ssdse.loc["R22212", "総人口"] * 100000'
WALK = Walk(
    course="ebpm",
    assignment="per-capita",
    question="q2",
    solution_cell="yaizu_rate",
    # The number of clinics, where the question asks for clinics per 100,000 people.
    wrong='yaizu_rate = ssdse.loc["R22212", "一般診療所数"]',
    mistake="診療所の数（件数）のままです。",
    hint="数（件数）は人口の多い市ほど大きくなります",
    right=f"yaizu_rate = {RATE}",
)

LEARNER, INSTRUCTOR = "kana", "sensei"
WAIT = 60_000  # ms: one step of the page (a cell's output, a button's answer)
SLOW = 120_000  # ms: a server starting, a kernel starting
AUTOGRADE_JS = """async (url) => {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="));
    const xsrf = cookie ? decodeURIComponent(cookie.slice(6)) : "";
    const response = await fetch(url, {method: "POST", headers: {"X-XSRFToken": xsrf}});
    return [response.status, await response.text()];
}"""


@pytest.fixture(scope="module")
def world():
    course_world = start_real_course(
        WALK.course, WALK.assignment, instructor=INSTRUCTOR, learner=LEARNER, overdue=True
    )
    try:
        yield course_world
    finally:
        course_world.hub.close()
        shutil.rmtree(course_world.data, ignore_errors=True)


def in_kernel(world, person, code: str) -> dict:
    """Run code in the person's kernel, from another thread (Playwright's loop runs here)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(world.hub.run, person, code).result()


def open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader").click(timeout=SLOW)
    page.get_by_role("menuitem", name=re.compile("Assignment List")).click()
    panel = page.locator("#nbgrader-assignment-list")
    panel.locator("#released_assignments_list").wait_for()
    return panel


def wait_for_file(path, predicate, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and predicate(path):
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not seen in {path} within {seconds:.0f} s")


def cell_output(page, text: str):
    """The check/hint box that shows `text` (the newest, if a cell was run twice)."""
    return page.locator(".sunaba-check").filter(has_text=text).last


def replace_cell_text(page, code: str) -> None:
    """In the selected cell: edit mode, select everything, type `code` (as typed text, without
    the editor's auto-closing of brackets and quotes)."""
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    page.keyboard.press("Escape")


class Laps:
    """How long each step took, printed (shown by pytest when the test fails, or with -s)."""

    def __init__(self):
        self.last = time.monotonic()

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        print(f"{now - self.last:6.1f} s  {step}", flush=True)
        self.last = now


def test_the_walk_matches_the_grader():
    """The wrong answer, message and hint this walk expects are the grader's own."""
    question = GraderDirectory(REPO / "graders").question(
        WALK.course, WALK.assignment, WALK.question
    )
    messages = [m.message for m in question.mistakes]
    assert any(m.startswith(WALK.mistake) for m in messages), messages
    assert WALK.hint in question.hints[0], question.hints
    assert WALK.right.split(" = ", 1)[1] in question.snippets, question.snippets


def test_learner_walks_one_assignment_and_reads_the_solution(world, browser, artifacts):
    lap = Laps()
    source = source_notebook(WALK.course, WALK.assignment)
    cells = nbformat.read(str(source), as_version=4).cells
    ids = [grade_id(cell) for cell in cells]
    assert WALK.solution_cell in ids, ids
    target = ids.index(WALK.solution_cell)
    assert f'check("{WALK.question}"' in cells[target + 1].source, cells[target + 1].source
    test_cell = ids[target + 2]  # the graded test of the question
    points = {
        grade_id(c): float(c.metadata["nbgrader"].get("points", 0)) for c in cells if grade_id(c)
    }
    assert points[test_cell] > 0, test_cell
    learner = world.learner(LEARNER)
    instructor = world.learner(INSTRUCTOR, spawn=False)
    home = world.hub.home_of(learner)
    relative = f"{WALK.course}/{WALK.assignment}/{source.name}"

    lap("servers started")
    # The learner fetches the assignment from 「課題一覧」.
    page = logged_in_page(browser, world.hub.url, learner, timeout=WAIT)
    try:
        page.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab.*"), timeout=SLOW)
        panel = open_assignment_list(page)
        released = panel.locator("#released_assignments_list .list_item", has_text=WALK.assignment)
        released.get_by_role("button", name="取得").click()
        fetched = panel.locator("#fetched_assignments_list .list_item", has_text=WALK.assignment)
        fetched.get_by_role("button", name="提出").wait_for()
        # The other questions answered as the model solution does, so that the score at the
        # end says whether this question's fixed answer counted.
        answers = model_answers(source, leave_blank={WALK.solution_cell})
        filled = in_kernel(world, learner, fill_answers_code(relative, answers))
        assert filled["stdout"].strip() == f"filled {len(answers)}", filled

        lap("fetched")
        # Open the notebook from the list; run every cell down to the question.
        fetched.locator(".assignment-notebooks-link").click()
        fetched.get_by_role("link", name=source.stem).click()
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| アイドル")).wait_for(timeout=SLOW)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.keyboard.press("Escape")
        for _ in range(target):
            page.keyboard.press("Shift+Enter")

        lap("notebook open")
        # A count instead of a rate: the check names that mistake.
        replace_cell_text(page, WALK.wrong)
        page.keyboard.press("Shift+Enter")  # the answer
        page.keyboard.press("Shift+Enter")  # its check cell
        wrong = cell_output(page, f"✗ {WALK.question}")
        try:
            wrong.wait_for()
        except Exception as exc:
            page.screenshot(path=str(artifacts / "ebpm-check-missing.png"))
            raise AssertionError(f"no check result for {WALK.question}") from exc
        wrong.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "ebpm-check-mistake.png"))
        assert WALK.mistake in wrong.inner_text(), wrong.inner_text()

        lap("wrong answer checked")
        # A hint, in a new cell below the check.
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        page.keyboard.insert_text(f'hint("{WALK.question}")')
        page.keyboard.press("Shift+Enter")
        shown = cell_output(page, f"{WALK.question} のヒント（1/")
        shown.wait_for()
        assert WALK.hint in shown.inner_text(), shown.inner_text()
        page.screenshot(path=str(artifacts / "ebpm-hint.png"))

        lap("hint")
        # Back to the answer (three cells up: check, hint, answer), fixed.
        for _ in range(3):
            page.keyboard.press("ArrowUp")
        replace_cell_text(page, WALK.right)
        page.keyboard.press("Shift+Enter")
        page.keyboard.press("Shift+Enter")
        cell_output(page, f"✓ {WALK.question}: 正解です").wait_for()
        page.screenshot(path=str(artifacts / "ebpm-check-right.png"))
        page.keyboard.press("Control+s")
        wait_for_file(
            home / relative,
            lambda p: (
                WALK.right
                in "".join(
                    "".join(c["source"]) for c in json.loads(p.read_text(encoding="utf-8"))["cells"]
                )
            ),
            "the fixed answer saved",
        )

        lap("fixed and saved")
        # 「提出」.
        panel = open_assignment_list(page)
        fetched = panel.locator("#fetched_assignments_list .list_item", has_text=WALK.assignment)
        fetched.get_by_role("button", name="提出").click()
        submitted = panel.locator("#submitted_assignments_list")
        submitted.get_by_text(re.compile(r"\d+年\d+月\d+日.*提出")).wait_for()
        page.screenshot(path=str(artifacts / "ebpm-submitted.png"))
    except BaseException:
        page.screenshot(path=str(artifacts / "ebpm-failed.png"))
        raise
    finally:
        page.close()

    lap("submitted")
    # The instructor: collect, autograde with the formgrader's own request, release.
    course, assignment = cycle.find_course(world.config, WALK.course, WALK.assignment)
    cycle.collect(world.config, course, assignment)
    formgrader_url = f"/services/formgrader-{WALK.course}/formgrader"
    # Straight to the course's formgrader: the instructor needs no server of their own here.
    page = logged_in_page(browser, world.hub.url, instructor, formgrader_url, timeout=WAIT)
    try:
        page.wait_for_url(re.compile(".*/formgrader.*"))
        page.get_by_text("Manage Assignments").first.wait_for()
        status, body = page.evaluate(
            AUTOGRADE_JS,
            f"{formgrader_url}/api/submission/{WALK.assignment}/{LEARNER}/autograde",
        )
        assert status == 200 and json.loads(body)["success"], body
    except BaseException:
        page.screenshot(path=str(artifacts / "ebpm-failed.png"))
        raise
    finally:
        page.close()
    lap("autograded")
    full = autograded_points(source)  # the learner's score: every autograded point
    cycle.generate_feedback(world.config, course, assignment, [LEARNER])
    # Past the due date, the feedback takes the model solution along.
    report = "\n".join(cycle.release_feedback(world.config, course, assignment, [LEARNER]).lines)
    assert LEARNER in report and "解答例を公開しました" in report, report

    lap("feedback released")
    # The learner fetches the feedback: 「（フィードバックを見る）」 opens its folder, where the
    # model solution came along; they open the solution, then the feedback.
    page = logged_in_page(browser, world.hub.url, learner, timeout=WAIT)
    try:
        page.wait_for_url(re.compile(rf".*/user/{LEARNER}/lab.*"), timeout=SLOW)
        panel = open_assignment_list(page)
        # The list keeps the title and due date, says the solution is out and turns 「提出」 off.
        fetched = panel.locator("#fetched_assignments_list .list_item", has_text=WALK.assignment)
        meta = fetched.locator(".sunaba-assignment-meta")
        expect(meta).to_contain_text("解答例を公開しました", timeout=WAIT)
        assert "締切: なし" not in meta.inner_text()
        expect(fetched.get_by_role("button", name="提出")).to_be_disabled()
        item = panel.locator("#submitted_assignments_list .list_item", has_text=WALK.assignment)
        item.get_by_role("button", name="フィードバックを取得").click()
        panel.get_by_text("（フィードバックを見る）").first.click()
        # The file browser shows the feedback of this attempt; the model solution is in the
        # folder beside it.
        page.locator(".jp-DirListing-item", has_text=f"{source.stem}.html").wait_for()
        page.screenshot(path=str(artifacts / "ebpm-feedback-folder.png"))
        page.locator(".jp-BreadCrumbs-item", has_text="feedback").click()
        listing = page.locator(".jp-DirListing-item", has_text=SOLUTION_FOLDER)
        listing.dblclick()
        page.locator(".jp-DirListing-item", has_text=source.name).dblclick()
        # The notebook in the front tab is the solution (the learner's own copy, which has the
        # same answer by now, may be open behind it).
        shown = page.locator(".jp-NotebookPanel:visible")
        shown.wait_for(timeout=SLOW)
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current")
        # Its caption (the path) is filled in once the document has loaded.
        expect(tab).to_have_attribute(
            "title", re.compile(re.escape(f"{SOLUTION_FOLDER}/{source.name}")), timeout=WAIT
        )
        model = shown.locator(".cm-line", has_text=RATE)
        # Cells far down the page are laid out only once scrolled to.
        model.first.wait_for(state="attached", timeout=SLOW)
        model.first.scroll_into_view_if_needed()
        model.first.wait_for()
        assert "HIDDEN TESTS" not in shown.inner_text()
        page.screenshot(path=str(artifacts / "ebpm-solution.png"))
        lap("solution read")

        feedback = (home / relative).parent / "feedback"
        html = next(feedback.rglob(f"{source.stem}.html"))
        page.goto(f"{world.hub.url}/user/{LEARNER}/files/{html.relative_to(home)}")
        body = page.locator("body").inner_text()
        assert f"(Score: {full} / {total_points(source)})" in body, body[:500]
        assert (
            f"(Score: {points[test_cell]} / {points[test_cell]})"
            in page.locator(f"li:has(a[href='#{test_cell}'])").inner_text()
        )
        assert WALK.right in body
        assert "HIDDEN TESTS" not in page.content()
        page.screenshot(path=str(artifacts / "ebpm-feedback.png"))
        lap("feedback read")
    except BaseException:
        page.screenshot(path=str(artifacts / "ebpm-failed.png"))
        raise
    finally:
        page.close()
