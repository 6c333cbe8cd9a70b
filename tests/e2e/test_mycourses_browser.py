"""A learner opens マイコース in a real browser, reads her progress (a bar with its text, the
due date and the days left), clicks 「JupyterLab で開く」 while her server is stopped, and the
hub starts it, the assignment is fetched into her home and its notebook opens in JupyterLab.
Screenshots go to artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import logged_in_page
from tests.support.courses import start_course_world, stop_course_world

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def world():
    course_world = start_course_world("sqlite")
    try:
        yield course_world
    finally:
        stop_course_world(course_world)


def test_one_click_fetches_and_opens_the_notebook_in_jupyterlab(world, browser, artifacts):
    ann = world.learner("ann", spawn=False)
    folder = world.hub.home_of(ann) / "kiso" / "hw1"
    assert not folder.exists()
    page = logged_in_page(browser, world.hub.url, ann, "/services/sunaba-exchange/mycourses")
    try:
        hw1 = page.locator('section.assignment[data-assignment="hw1"]')
        hw1.wait_for(timeout=60_000)
        assert "締切 2099年3月31日（火） 17:00" in hw1.inner_text()
        assert re.search(r"締切まであと \d+ 日", hw1.inner_text())
        assert "締切を過ぎています" in page.locator('[data-assignment="late"]').inner_text()
        assert "未取得" in hw1.inner_text()
        course = page.locator('section.course[data-course="kiso"]')
        bar = course.get_by_role("img", name="課題 2 件中 0 件提出済み")
        assert bar.is_visible() and "課題 2 件中 0 件提出済み" in course.inner_text()
        page.screenshot(path=str(artifacts / "mycourses-learner.png"), full_page=True)

        hw1.get_by_role("link", name="JupyterLab で開く").click()
        page.wait_for_url(
            re.compile(r".*/user/ann/lab/tree/kiso/hw1/problem\.ipynb$"), timeout=180_000
        )
        tab = page.get_by_role("tab", name=re.compile(r"problem\.ipynb"))
        tab.wait_for(timeout=120_000)
        # The notebook's own text, rendered: the file was opened, not an empty one.
        page.locator(".jp-Notebook .jp-MarkdownOutput", has_text="練習問題").first.wait_for(
            timeout=120_000
        )
        page.screenshot(path=str(artifacts / "mycourses-opened.png"))
        assert (folder / "problem.ipynb").is_file()
        assert folder.stat().st_uid == world.hub.home_of(ann).stat().st_uid

        # Back on マイコース, the assignment is now fetched; opening again keeps her work.
        (folder / "problem.ipynb").write_text(
            (folder / "problem.ipynb").read_text().replace("練習問題", "練習問題（ann のメモ）")
        )
        page.goto(f"{world.hub.url}/services/sunaba-exchange/mycourses")
        hw1 = page.locator('section.assignment[data-assignment="hw1"]')
        assert "取得済み" in hw1.inner_text()
        assert "check で確かめる問題はありません" in hw1.inner_text()
        hw1.get_by_role("link", name="JupyterLab で開く").click()
        page.wait_for_url(re.compile(r".*/lab/tree/kiso/hw1/problem\.ipynb$"), timeout=120_000)
        page.locator(".jp-Notebook .jp-MarkdownOutput", has_text="ann のメモ").first.wait_for(
            timeout=120_000
        )
        page.screenshot(path=str(artifacts / "mycourses-reopened.png"))
        assert "ann のメモ" in (folder / "problem.ipynb").read_text()
    finally:
        page.context.close()
