"""Debian's chromium driven by Playwright, set up the same way for every browser test."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def logged_in_page(browser: Browser, hub_url: str, person, next_path: str = "", timeout=None):
    """A new Japanese page, logged in through the hub's form as `person`; the hub goes on to
    `next_path` when given (a page that starts no server) or to the person's default page."""
    page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})
    if timeout is not None:
        page.set_default_timeout(timeout)
    page.goto(f"{hub_url}/hub/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#username_input", person.name)
    page.fill("#password_input", person.password)
    page.click("#login_submit")
    page.wait_for_load_state()
    return page
