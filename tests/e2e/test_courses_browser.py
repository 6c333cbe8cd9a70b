"""A course in the browser: the learner fetches and submits in JupyterLab's assignment list, the
instructor grades the written answer in the course's formgrader, the learner reads the feedback.
Screenshots of each step go to artifacts/."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from sunaba.core.layout import CoursePaths
from sunaba.grading import cycle
from sunaba.grading.runner import run_step
from tests.e2e.browser import logged_in_page
from tests.support.courses import HIDDEN_MARK, start_course_world, stop_course_world

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

WRITE_ANSWER = """
import json, pathlib
path = pathlib.Path('kiso/hw1/problem.ipynb')
notebook = json.loads(path.read_text())
for cell in notebook['cells']:
    grade_id = cell['metadata'].get('nbgrader', {}).get('grade_id')
    if grade_id == 'answer':
        cell['source'] = 'def answer():\\n    return 42'
    if grade_id == 'written':
        cell['source'] = '42 を選んだのは、問題文がそう求めているからです。'
path.write_text(json.dumps(notebook))
print('written')
"""


@pytest.fixture(scope="module")
def world():
    course_world = start_course_world("sqlite")
    try:
        yield course_world
    finally:
        stop_course_world(course_world)


def in_kernel(world, person, code: str) -> dict:
    """Run code in the person's kernel (what they would type); from another thread, because
    Playwright's sync API keeps an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(world.hub.run, person, code).result()


FORMGRADER = "/services/formgrader-kiso/formgrader"
# What the formgrader's autograde button sends (its xsrf header included).
AUTOGRADE_JS = """async (url) => {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="));
    const xsrf = cookie ? decodeURIComponent(cookie.slice(6)) : "";
    const response = await fetch(url, {method: "POST", headers: {"X-XSRFToken": xsrf}});
    return [response.status, await response.text()];
}"""


def open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader").click(timeout=120_000)
    items = page.get_by_role("menuitem").all_inner_texts()
    page.get_by_role("menuitem", name=re.compile("Assignment List")).click()
    panel = page.locator("#nbgrader-assignment-list")
    panel.locator("#released_assignments_list").wait_for(timeout=60_000)
    return panel, items


def test_fetch_submit_grade_by_hand_and_read_feedback(world, browser, artifacts):
    ann = world.learner("ann")
    teach = world.learner("teach", spawn=False)

    # The learner: fetch and submit from JupyterLab's assignment list.
    page = logged_in_page(browser, world.hub.url, ann)
    try:
        page.wait_for_url(re.compile(r".*/user/ann/lab.*"), timeout=120_000)
        panel, menu = open_assignment_list(page)
        assert not any("Formgrader" in item or "Course List" in item for item in menu), menu
        # In Japanese, with each assignment's title and due date (Japan time) and whether it
        # is already past.
        released = panel.locator("#released_assignments_list .list_item", has_text="hw1")
        meta = released.locator(".sunaba-assignment-meta")
        meta.wait_for(timeout=60_000)
        assert meta.inner_text() == "宿題1　締切: 2099年3月31日（火） 17:00"
        late = panel.locator("#released_assignments_list .list_item", has_text="late")
        assert (
            late.locator(".sunaba-assignment-meta")
            .inner_text()
            .endswith("締切: 2020年4月1日（水） 17:00（締切を過ぎています）")
        )
        assert "配布中の課題" in panel.inner_text()
        page.screenshot(path=str(artifacts / "course-released.png"))
        released.get_by_role("button", name="取得").click()
        fetched = panel.locator("#fetched_assignments_list .list_item", has_text="hw1")
        fetched.get_by_role("button", name="提出").wait_for(timeout=60_000)
        assert "締切: 2099年3月31日" in fetched.locator(".sunaba-assignment-meta").inner_text()
        assert in_kernel(world, ann, WRITE_ANSWER)["stdout"].strip() == "written"
        page.screenshot(path=str(artifacts / "course-fetched.png"))
        # Validate before submitting: nbgrader's dialog, in Japanese.
        fetched.locator(".assignment-notebooks-link").click()
        fetched.get_by_role("button", name="検証").click()
        dialog = page.locator(".jp-Dialog")
        dialog.get_by_text("検証の結果").wait_for(timeout=120_000)
        assert "すべてのテストに合格しました。" in dialog.inner_text()
        page.screenshot(path=str(artifacts / "course-validated.png"))
        dialog.get_by_role("button").last.click()
        fetched.get_by_role("button", name="提出").click()
        # JupyterLab keeps the learner's layout in their own home.
        workspaces = world.hub.home_of(ann) / ".jupyter" / "lab" / "workspaces"
        for _ in range(30):
            if list(workspaces.glob("*.jupyterlab-workspace")):
                break
            page.wait_for_timeout(1000)
        assert list(workspaces.glob("*.jupyterlab-workspace")), "workspace not saved"
        submitted = panel.locator("#submitted_assignments_list")
        submitted.get_by_text(re.compile(r"\d+年\d+月\d+日.*提出")).wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "course-submitted.png"))
    finally:
        page.close()

    course, hw1 = cycle.find_course(world.config, "kiso", "hw1")
    cycle.collect(world.config, course, hw1)

    # The instructor: from the course page to the formgrader (its own tab), autograde with
    # the formgrader's own request (learners' code runs in a grading sandbox, not as the
    # grader), then grade by hand.
    page = logged_in_page(browser, world.hub.url, teach)
    try:
        page.goto(f"{world.hub.url}/services/sunaba-exchange/courses/kiso")
        link = page.get_by_role("link", name="採点画面を開く（新しいタブ）")
        assert link.get_attribute("target") == "_blank"
        with page.context.expect_page() as opened:
            link.click()
        formgrader = opened.value
        formgrader.wait_for_load_state()
        formgrader.get_by_text("Manage Assignments").first.wait_for(timeout=60_000)
        status, body = formgrader.evaluate(
            AUTOGRADE_JS, f"{FORMGRADER}/api/submission/hw1/ann/autograde"
        )
        assert status == 200 and json.loads(body)["success"], body
        scores = run_step(world.config, "kiso", "scores", assignments=["hw1"])
        graded = CoursePaths.of(world.config, "kiso").root / "autograded/ann/hw1/problem.ipynb"
        assert scores["hw1"]["ann"]["score"] == 2.0, graded.read_text()[-3000:]
        formgrader.goto(
            f"{world.hub.url}/services/formgrader-kiso/formgrader/gradebook/hw1/problem"
        )
        formgrader.get_by_role("link", name="Submission #1").click()
        score = formgrader.locator("input.score#written")
        score.wait_for(timeout=60_000)
        assert "42 を選んだのは" in formgrader.locator("body").inner_text()
        # The formgrader saves each field on change, once its scripts have loaded the grades;
        # wait until the server has it.
        formgrader.wait_for_load_state("networkidle")
        with formgrader.expect_response(lambda r: "/api/grade/" in r.url and r.ok):
            score.fill("2")
            score.press("Tab")
        comment = formgrader.locator("textarea#written-comment")
        with formgrader.expect_response(lambda r: "/api/comment/" in r.url and r.ok):
            comment.fill("理由がはっきり書けています。")
            comment.press("Tab")
        formgrader.screenshot(path=str(artifacts / "course-formgrader-graded.png"), full_page=True)
    finally:
        page.context.close()

    cycle.generate_feedback(world.config, course, hw1, ["ann"])
    report = cycle.release_feedback(world.config, course, hw1, ["ann"])
    assert "ann" in "\n".join(report.lines)

    # The learner again: fetch the feedback and read it.
    page = logged_in_page(browser, world.hub.url, ann)
    try:
        page.wait_for_url(re.compile(r".*/user/ann/lab.*"), timeout=120_000)
        panel, _ = open_assignment_list(page)
        item = panel.locator("#submitted_assignments_list .list_item", has_text="hw1")
        item.get_by_role("button", name="フィードバックを取得").click()
        panel.get_by_text("（フィードバックを見る）").first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "course-feedback-ready.png"))
        html = next((world.hub.home_of(ann) / "kiso" / "hw1" / "feedback").rglob("problem.html"))
        relative = html.relative_to(world.hub.home_of(ann))
        page.goto(f"{world.hub.url}/user/ann/files/{relative}")
        body = page.locator("body").inner_text()
        assert "理由がはっきり書けています。" in body
        assert HIDDEN_MARK not in page.content()
        page.screenshot(path=str(artifacts / "course-feedback.png"), full_page=True)
    finally:
        page.close()
