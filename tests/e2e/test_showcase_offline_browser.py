"""A published app works without the internet: every request the viewer's browser makes goes to
the hub's own address, the icons' font (FontAwesome) loads from the app itself, and the images a
Markdown cell shows (a published file, a Japanese file name, an `<img>` tag, an attachment) load
for team- and hub-visible apps alike. Requests to any other host are recorded and cut off, as
they would be on a machine without internet. Screenshots go to artifacts/."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from urllib.parse import urlsplit

import pytest

from tests.support.showcase import (
    ShowcaseClient,
    ensure_spawned,
    notebook,
    put_binary,
    put_file,
)

pytestmark = pytest.mark.e2e

TEAM = "e2e-zu"
IMAGES = {"図": (48, 32), "グラフ": (40, 20), "サブ": (30, 30), "添付": (24, 12)}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG of one colour (no imaging library needed)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def figures_notebook() -> str:
    attachment = base64.b64encode(png(*IMAGES["添付"], (0, 160, 0))).decode()
    markdown = (
        "# 図のテスト\n\n"
        "![図](chart.png)\n\n"
        "![グラフ](グラフ%201.png)\n\n"
        '<img src="img/sub.png" width="30" alt="サブ">\n\n'
        "![添付](attachment:a.png)\n\n"
        "数式も表示します: $E = mc^2$\n"
    )
    code = (
        "import ipywidgets as widgets\n"
        "display(widgets.Button(description='確認', icon='check'))\n"
        "print('FIGURES-READY')\n"
    )
    built = json.loads(notebook(code, markdown=(markdown,)))
    built["cells"][0]["attachments"] = {"a.png": {"image/png": attachment}}
    return json.dumps(built, ensure_ascii=False)


@pytest.fixture(scope="module")
def people(hub):
    author = hub.new_learner("zuauthor")
    other = hub.new_learner("zuviewer")
    hub.api("POST", f"/groups/team-{TEAM}").raise_for_status()
    hub.api("PUT", f"/groups/team-{TEAM}/properties", json={"title": "図表班"}).raise_for_status()
    hub.api("POST", f"/groups/team-{TEAM}/users", json={"users": [author.name]}).raise_for_status()
    ensure_spawned(hub, author)
    put_binary(hub, author, "zu/chart.png", png(*IMAGES["図"], (200, 30, 30)))
    put_binary(hub, author, "zu/グラフ 1.png", png(*IMAGES["グラフ"], (30, 30, 200)))
    put_binary(hub, author, "zu/img/sub.png", png(*IMAGES["サブ"], (120, 120, 0)))
    put_file(hub, author, "zu/app.ipynb", figures_notebook())
    return author, other


@pytest.fixture(scope="module")
def app_id(hub, people) -> int:
    author, _ = people
    response = ShowcaseClient(hub).publish(author, "zu/app.ipynb", "図のテスト", TEAM)
    assert response.status_code == 201, response.text
    published = sorted(response.json()["versions"][0]["files"])
    assert published == ["app.ipynb", "chart.png", "img/sub.png", "グラフ 1.png"]
    return response.json()["id"]


class Requests:
    """Every request of a browser context; those to other hosts are cut off (no internet)."""

    def __init__(self, context):
        self.urls: list[str] = []
        self.fonts: list[tuple[str, int]] = []
        context.route(lambda url: not self.local(url), lambda route: route.abort())
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("response", self._response)

    @staticmethod
    def local(url: str) -> bool:
        return url.startswith(("data:", "blob:")) or urlsplit(url).hostname == "127.0.0.1"

    def _response(self, response) -> None:
        if response.url.endswith(".woff2"):
            self.fonts.append((response.url, response.status))

    def outside(self) -> list[str]:
        return [url for url in self.urls if not self.local(url)]


def open_app_as(browser, hub, learner, app_id: int):
    """Log in through the hub (the app's login redirect) and land on the app."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1100, "height": 900})
    seen = Requests(context)
    page = context.new_page()
    page.goto(f"{hub.url}/services/showcase/apps/{app_id}/")
    page.wait_for_url(re.compile(r".*/hub/login.*"), timeout=60_000)
    page.fill("#username_input", learner.name)
    page.fill("#password_input", learner.password)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/services/showcase/apps/{app_id}/$"), timeout=120_000)
    page.get_by_text("FIGURES-READY").wait_for(timeout=120_000)
    return context, page, seen


def image_widths(page) -> dict[str, int]:
    widths = {}
    for alt in IMAGES:
        image = page.locator(f"img[alt='{alt}']")
        image.wait_for(timeout=30_000)
        image.evaluate("img => img.decode().catch(() => null)")
        widths[alt] = image.evaluate("img => img.naturalWidth")
    return widths


def assert_offline_and_complete(page, seen: Requests) -> None:
    assert image_widths(page) == {alt: size[0] for alt, size in IMAGES.items()}
    # The button's icon is drawn with FontAwesome's font, served by the app.
    icon = page.locator(".jupyter-button i.fa-check")
    icon.wait_for(timeout=60_000)
    page.evaluate("() => document.fonts.ready")
    family = icon.evaluate("i => getComputedStyle(i, '::before').fontFamily")
    assert "Font Awesome" in family
    loaded = page.evaluate(
        "() => [...document.fonts].filter(f => f.family.includes('Font Awesome')"
        " && f.status === 'loaded').map(f => f.family)"
    )
    assert loaded, "no FontAwesome font face loaded"
    assert any(
        "/voila/static/sunaba-fontawesome/webfonts/" in url and status == 200
        for url, status in seen.fonts
    ), seen.fonts
    # The formula is typeset by the MathJax bundled with Voilà.
    page.locator("mjx-container").first.wait_for(timeout=60_000)
    assert seen.outside() == []


def test_an_app_loads_icons_images_and_math_without_internet(
    hub, people, app_id, browser, artifacts
):
    author, other = people
    client = ShowcaseClient(hub)

    # Team visibility opened by a team member, then hub visibility by someone outside the team.
    for viewer, visibility in ((author, "team"), (other, "hub")):
        if visibility != "team":
            changed = client.api("PATCH", f"apps/{app_id}", author, json={"visibility": visibility})
            assert changed.status_code == 200, changed.text
        context, page, seen = open_app_as(browser, hub, viewer, app_id)
        try:
            assert_offline_and_complete(page, seen)
            page.screenshot(
                path=str(artifacts / f"showcase-offline-{visibility}.png"), full_page=True
            )
        finally:
            context.close()
