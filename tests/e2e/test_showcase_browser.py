"""A team member publishes from JupyterLab's 「ショーケース」 menu, finds the card (with the
thumbnail rendered at publish time) in the gallery, opens the app and moves a slider: the label
and the chart follow. Screenshots go to artifacts/."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.showcase import SHELTERS_CSV, ensure_spawned, put_file, shelters_app

pytestmark = pytest.mark.e2e

TEAM = "e2e-hinan"


@pytest.fixture(scope="module")
def author(hub):
    learner = hub.new_learner("showcaser")
    hub.api("POST", f"/groups/team-{TEAM}").raise_for_status()
    hub.api(
        "PUT",
        f"/groups/team-{TEAM}/properties",
        json={"title": "避難所マップ班", "course": "ebpm"},
    ).raise_for_status()
    hub.api("POST", f"/groups/team-{TEAM}/users", json={"users": [learner.name]}).raise_for_status()
    ensure_spawned(hub, learner)
    put_file(hub, learner, "shelters/data/shelters.csv", SHELTERS_CSV.read_text(encoding="utf-8"))
    put_file(hub, learner, "shelters/app.ipynb", shelters_app("E2E"))
    return learner


def chart_source(page) -> str:
    return page.locator(".jp-OutputArea-output img").first.get_attribute("src") or ""


def test_publish_from_jupyterlab_open_from_gallery_and_move_a_slider(
    hub, author, browser, artifacts
):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 860})
    page = context.new_page()
    try:
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", author.name)
        page.fill("#password_input", author.password)
        page.click("#login_submit")
        page.wait_for_url(re.compile(r".*/user/showcaser/lab.*"), timeout=120_000)

        # JupyterLab: the 「ショーケース」 menu opens the publish page in a new tab.
        page.get_by_role("menuitem", name="ショーケース").click(timeout=120_000)
        with context.expect_page(timeout=60_000) as opened:
            page.get_by_role("menuitem", name="ノートブックを公開…").click()
        publish = opened.value
        publish.wait_for_load_state()
        publish.get_by_role("heading", name="ノートブックを公開する").wait_for(timeout=60_000)
        publish.select_option("select[name=notebook]", "shelters/app.ipynb")
        publish.fill("input[name=title]", "七尾市の避難所マップ")
        publish.fill("textarea[name=description]", "収容人数で避難所を絞り込めます。")
        publish.check("input[name=visibility][value=hub]")
        publish.screenshot(path=str(artifacts / "showcase-publish-form.png"), full_page=True)
        # Publishing runs the notebook once before it answers: the next line waits for that
        # (up to 3 minutes), not the click's own 30 s wait for the navigation it starts.
        publish.get_by_role("button", name="公開する").click(no_wait_after=True)
        publish.get_by_text("公開しました").wait_for(timeout=180_000)
        publish.screenshot(path=str(artifacts / "showcase-published.png"), full_page=True)

        # The gallery: the card shows the thumbnail rendered at publish time (in the background,
        # so it may take a moment to appear).
        gallery = publish
        card = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            gallery.goto(f"{hub.url}/services/showcase/?team={TEAM}")
            card = gallery.locator("article.card", has_text="七尾市の避難所マップ")
            card.wait_for(timeout=30_000)
            if card.locator("img.thumb").count():
                break
            time.sleep(2)
        thumb = card.locator("img.thumb")
        assert thumb.count() == 1, "no thumbnail was rendered"
        thumb.evaluate("img => img.decode()")
        assert thumb.evaluate("img => img.naturalWidth") > 100
        assert "避難所マップ班" in card.inner_text() and "ハブの全員" in card.inner_text()
        gallery.screenshot(path=str(artifacts / "showcase-gallery.png"), full_page=True)

        # Open the app from its card; move the slider; the label and the chart follow.
        card.locator("a.open").click()
        gallery.wait_for_url(re.compile(r".*/services/showcase/apps/\d+/"), timeout=60_000)
        label = gallery.locator(".widget-label", has_text="人以上")
        label.wait_for(timeout=120_000)
        before_label = label.inner_text()
        gallery.locator(".jp-OutputArea-output img").first.wait_for(timeout=60_000)
        before_chart = chart_source(gallery)
        assert before_label.startswith("500 人以上")
        handle = gallery.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(5):
            gallery.keyboard.press("ArrowRight")
        gallery.wait_for_function(
            "() => [...document.querySelectorAll('.widget-label')]"
            ".some(e => e.textContent.startsWith('1000 人以上'))",
            timeout=60_000,
        )
        gallery.wait_for_function(
            "(before) => { const img = document.querySelector('.jp-OutputArea-output img');"
            " return img && img.getAttribute('src') !== before; }",
            arg=before_chart,
            timeout=60_000,
        )
        assert chart_source(gallery) != before_chart
        gallery.screenshot(path=str(artifacts / "showcase-app-slider.png"), full_page=True)
    finally:
        page.screenshot(path=str(artifacts / "showcase-jupyterlab.png"))
        context.close()
