"""An admin imports a roster in a real browser: logs into the hub, opens the roster page (the
hub service `roster`, reached through hub OAuth), chooses the file, reads the preview and
confirms; the accounts are then in the hub. Screenshots go to artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import logged_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ROSTER = "ユーザー名,氏名,コース\nrb-tanaka,田中 太郎,roster-browser\nrb-kato,加藤 次郎,\n"


def test_admin_previews_and_confirms_a_roster(hub, browser, artifacts, tmp_path):
    admin = hub.ensure_admin()
    roster = tmp_path / "名簿.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    page = logged_in_page(browser, hub.url, admin, "/services/roster/")
    try:
        page.locator("#roster-upload").wait_for(timeout=60_000)
        assert page.url == f"{hub.url}/services/roster/"
        assert page.get_by_role("heading", name="名簿の取り込み").is_visible()
        assert page.get_by_role("link", name="ホーム").get_attribute("href") == "/hub/home"
        page.screenshot(path=str(artifacts / "roster-upload.png"))

        page.set_input_files("#roster-file", str(roster))
        page.get_by_role("button", name="内容を確認する").click()
        created = page.locator("#preview-created")
        created.wait_for(timeout=60_000)
        assert "rb-tanaka" in created.inner_text() and "rb-kato" in created.inner_text()
        courses = page.locator("#roster-courses").inner_text()
        assert "roster-browser（グループを新しく作ります）" in courses
        assert not {"rb-tanaka", "rb-kato"} & {u["name"] for u in hub.api("GET", "/users").json()}
        page.screenshot(path=str(artifacts / "roster-preview.png"))

        page.get_by_role("button", name="この内容で取り込む").click()
        page.locator("#roster-done").wait_for(timeout=120_000)
        assert re.search(
            r"roster-passwords-.*\.csv", page.locator("#roster-passwords").inner_text()
        )
        users = {u["name"] for u in hub.api("GET", "/users").json()}
        assert {"rb-tanaka", "rb-kato"} <= users
    finally:
        page.screenshot(path=str(artifacts / "roster-done.png"))
        page.close()
