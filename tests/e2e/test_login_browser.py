"""A person logs in through the Japanese login page and works in JupyterLab in Japanese."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_login_page_lab_in_japanese_and_a_cell_runs(hub, browser, artifacts):
    learner = hub.new_learner("browser")
    page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{hub.url}/hub/login")
        assert page.locator("html").get_attribute("lang") == "ja"
        page.screenshot(path=str(artifacts / "login-ja.png"))
        page.fill("#username_input", learner.name)
        page.fill("#password_input", learner.password)
        page.click("#login_submit")
        page.wait_for_url(re.compile(r".*/user/browser/lab.*"), timeout=120_000)
        # JupyterLab's menu bar, translated by the ja-JP language pack.
        page.get_by_role("menuitem", name="ファイル").wait_for(timeout=120_000)
        assert page.get_by_role("menuitem", name="編集").is_visible()
        # Open a notebook from the launcher and run a cell.
        page.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
        editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
        editor.wait_for(timeout=60_000)
        # Wait until the kernel reports idle in the status bar (in Japanese) before running.
        page.get_by_text("Python 3 (ipykernel) | アイドル").wait_for(timeout=120_000)
        editor.click()
        page.keyboard.type("5 * 4")
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output").first
        output.wait_for(timeout=60_000)
        assert output.inner_text().strip() == "20"
    finally:
        page.screenshot(path=str(artifacts / "jupyterlab-ja.png"))
        page.close()
