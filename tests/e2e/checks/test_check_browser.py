"""A learner calls `check` and `hint` in JupyterLab and reads the answer in Japanese."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

from tests.e2e.browser import chromium
from tests.support.checks import ASSIGNMENT, COURSE, SECRET_NUMBER, write_graders
from tests.support.hub import SunabaHub

pytestmark = pytest.mark.e2e

CODE = f"""from sunaba.checks import check, hint, set_exercise
set_exercise("{COURSE}", "{ASSIGNMENT}")
check("q1", 12.5)"""


@pytest.fixture(scope="module")
def checks_hub():
    if os.geteuid() != 0:
        pytest.fail("browser tests start a hub with Unix users: run them as root (make test)")
    graders = Path(f"/tmp/sunaba-checks-e2e-{secrets.token_hex(4)}")
    graders.mkdir(mode=0o700)
    write_graders(graders)
    hub = SunabaHub(extra={"checks": {"graders": str(graders)}})
    try:
        hub.start()
        yield hub
    finally:
        hub.close()
        shutil.rmtree(graders, ignore_errors=True)


def run_cell(page, code: str) -> None:
    editor = page.locator(".jp-Notebook .jp-Cell .cm-content").last
    editor.click()
    # insert_text: no key events, so the editor does not auto-close brackets and quotes.
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")


def test_check_and_hint_in_jupyterlab(checks_hub, artifacts):
    hub = checks_hub
    learner = hub.new_learner("labcheck")
    added = hub.api("POST", f"/groups/nbgrader-{COURSE}/users", json={"users": [learner.name]})
    assert added.ok, added.text
    with chromium() as browser:
        page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 800})
        try:
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", learner.name)
            page.fill("#password_input", learner.password)
            page.click("#login_submit")
            page.wait_for_url(re.compile(r".*/user/labcheck/lab.*"), timeout=120_000)
            page.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
            page.locator(".jp-Notebook .jp-Cell .cm-content").first.wait_for(timeout=60_000)
            page.get_by_text("Python 3 (ipykernel) | アイドル").wait_for(timeout=120_000)
            run_cell(page, CODE)
            wrong = page.locator(".sunaba-check").filter(has_text="✗ q1: まだ違います")
            wrong.wait_for(timeout=60_000)
            assert "数値が違います" in wrong.inner_text()
            assert str(SECRET_NUMBER) not in wrong.inner_text()
            run_cell(page, 'hint("q1")')
            shown = page.locator(".sunaba-check").filter(has_text="q1 のヒント（1/3）")
            shown.wait_for(timeout=60_000)
            assert "平均を求めます" in shown.inner_text()
        finally:
            page.screenshot(path=str(artifacts / "check-in-jupyterlab.png"))
            page.close()
