"""Render the thumbnail of a freshly published app with headless Chromium.

Run as the app's account in a sandbox with loopback network (to reach the app through the
showcase service) and `python -I -c SOURCE REQUEST_JSON`, request
`{"url": …, "out": PATH, "chromium": "/usr/bin/chromium"}`; the one-time pass that lets this
browser see a team-only app is read from stdin, never from the command line.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1200, 750
SETTLE_SECONDS = 1.5


def render(url: str, out: str, chromium: str, header: str, secret: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(
                viewport={"width": WIDTH, "height": HEIGHT},
                device_scale_factor=0.5,
                locale="ja-JP",
            )

            def with_pass(route, request) -> None:
                # The pass goes with the page itself only: on the page's own (cross-origin,
                # sandboxed) requests an extra header would need CORS preflights.
                if request.is_navigation_request():
                    route.continue_(headers={**request.headers, header: secret})
                else:
                    route.continue_()

            page.route("**/*", with_pass)
            page.goto(url, wait_until="load", timeout=90_000)
            # Voilà shows outputs as the kernel sends widget state: wait for the network to calm.
            # A page that keeps polling still gets its picture after the wait.
            with contextlib.suppress(Exception):
                page.wait_for_load_state("networkidle", timeout=30_000)
            time.sleep(SETTLE_SECONDS)
            page.screenshot(path=out, type="png")
        finally:
            browser.close()


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    secret = sys.stdin.readline().strip()
    render(request["url"], request["out"], request["chromium"], request["header"], secret)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
