"""The roster service without a hub: its real app and `FreshHubOAuth` ask a stand-in of the
hub's REST API who holds each token (`GET /user`) and which course groups exist. Only an admin
gets the page; the preview reads the course groups with the service's own token."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote, urlencode, urlsplit

import pytest
from tests.support.fake_hub_api import JsonHandler, serving
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from sunaba.config import SiteConfig
from sunaba.core.hubclient import AsyncHubClient
from sunaba.hub.service_auth import FreshHubOAuth
from sunaba.users.flow import RosterOutcome
from sunaba.users.page import (
    ADMINS_ONLY,
    FORM_EXPIRED,
    group_members,
    is_admin,
    membership_changes,
)
from sunaba.users.roster import read_roster
from sunaba.users.roster_service import SERVICE, make_app

PREFIX = f"/services/{SERVICE}/"
ACCESS = f"access:services!service={SERVICE}"
SERVICE_TOKEN = "roster-service-token"  # noqa: S105 (a test value)


def whoami(name: str, admin: bool, scopes=(ACCESS,), kind: str = "user") -> dict:
    return {"kind": kind, "name": name, "admin": admin, "groups": [], "scopes": list(scopes)}


# The hub's model of each token: what `GET /user` answers for an OAuth token of the service.
MODELS = {
    "admin-token": whoami("admin", True),
    "learner-token": whoami("ann", False),
    "admin-elsewhere": whoami("admin", True, scopes=["access:services!service=showcase"]),
    "a-service": whoami("grafana", False, kind="service"),
}
GROUPS = {"nbgrader-intro": ["tanaka", "old-hand"], "nbgrader-empty": []}


class FakeHub(JsonHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path.removeprefix("/hub/api")
        token = self.headers.get("Authorization", "").removeprefix("token ")
        if path == "/user" and token in MODELS:
            return self.reply(200, MODELS[token])
        if path.startswith("/groups/") and token == SERVICE_TOKEN:
            name = path.removeprefix("/groups/")
            if name in GROUPS:
                return self.reply(200, {"kind": "group", "name": name, "users": GROUPS[name]})
            return self.reply(404, {"status": 404, "message": "No such group"})
        return self.reply(403, {"status": 403, "message": "Action is not authorized"})


@pytest.fixture
def hub_api():
    with serving(FakeHub) as url:
        yield url


@pytest.fixture
def config(tmp_path) -> SiteConfig:
    return SiteConfig.model_validate({"hub": {"state_dir": str(tmp_path / "state")}})


async def fetch(base: str, path: str, token: str = "", **kwargs) -> HTTPResponse:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"token {token}"
    return await AsyncHTTPClient().fetch(
        base + path, headers=headers, follow_redirects=False, raise_error=False, **kwargs
    )


def run_service(config: SiteConfig, hub_api: str, scenario):
    """Serve the roster app on loopback, run `scenario(base URL)`, stop."""

    async def main():
        hub_auth = FreshHubOAuth(
            api_url=hub_api,
            api_token=SERVICE_TOKEN,
            oauth_client_id=f"service-{SERVICE}",
            base_url=PREFIX,
            hub_prefix="/hub/",
            access_scopes={ACCESS},
        )
        app = make_app(config, hub_auth, AsyncHubClient(hub_api, SERVICE_TOKEN), PREFIX)
        [sock] = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(app)
        server.add_sockets([sock])
        try:
            return await scenario(f"http://127.0.0.1:{sock.getsockname()[1]}")
        finally:
            server.stop()

    return asyncio.run(main())


def test_only_an_admin_gets_the_page(config, hub_api):
    async def scenario(base):
        page = await fetch(base, PREFIX, "admin-token")
        assert page.code == 200
        text = page.body.decode()
        assert 'id="roster-page"' in text and 'id="roster-upload"' in text
        assert f'href="{PREFIX}template.xlsx"' in text and 'href="/hub/home"' in text
        template = await fetch(base, f"{PREFIX}template.csv", "admin-token")
        assert template.code == 200 and template.headers["Content-Type"].startswith("text/csv")

        for token in ("learner-token", "a-service"):
            for path in (PREFIX, f"{PREFIX}template.xlsx"):
                refused = await fetch(base, path, token)
                assert refused.code == 403, (token, path)
                assert ADMINS_ONLY in refused.body.decode()
        # An admin's token that may not reach this service is refused too.
        assert (await fetch(base, PREFIX, "admin-elsewhere")).code == 403
        # Nobody logged in: off to the hub's OAuth login, which comes back to the callback.
        login = await fetch(base, PREFIX)
        assert login.code == 302
        assert "/hub/api/oauth2/authorize" in login.headers["Location"]
        assert quote(f"{PREFIX}oauth_callback", safe="") in login.headers["Location"]

    run_service(config, hub_api, scenario)


def test_a_non_admin_cannot_post_a_roster(config, hub_api):
    async def scenario(base):
        form = await fetch(base, PREFIX, "admin-token")
        cookie = form.headers["Set-Cookie"].split(";")[0]
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.body.decode()).group(1)
        body = urlencode({"_xsrf": xsrf, "action": "apply", "upload": "0" * 32})
        headers = {"Cookie": cookie}
        refused = await fetch(
            base, PREFIX, "learner-token", method="POST", body=body, headers=dict(headers)
        )
        assert refused.code == 403 and ADMINS_ONLY in refused.body.decode()
        # Without the form's token even an admin's POST is refused, in Japanese.
        bare = urlencode({"action": "apply", "upload": "0" * 32})
        forged = await fetch(base, PREFIX, "admin-token", method="POST", body=bare)
        assert forged.code == 403 and FORM_EXPIRED in forged.body.decode()
        # With it, the admin gets the page's own answer (no such upload).
        stale = await fetch(
            base, PREFIX, "admin-token", method="POST", body=body, headers=dict(headers)
        )
        assert stale.code == 400 and "確認した名簿が見つかりません" in stale.body.decode()

    run_service(config, hub_api, scenario)


def test_is_admin_reads_the_hubs_model():
    assert is_admin(MODELS["admin-token"])
    assert not is_admin(MODELS["learner-token"])
    assert not is_admin({"kind": "service", "name": "x", "admin": True})
    assert not is_admin({"kind": "user", "name": "x"})  # a model without the flag


def roster_outcome(tmp_path) -> RosterOutcome:
    path = tmp_path / "roster.csv"
    path.write_text(
        "ユーザー名,コース\ntanaka,intro\nsuzuki,intro、stats\nyamada,\n", encoding="utf-8"
    )
    return RosterOutcome(roster=read_roster(path))


def test_membership_changes_from_the_groups_the_hub_has(tmp_path, hub_api):
    outcome = roster_outcome(tmp_path)
    client = AsyncHubClient(hub_api, SERVICE_TOKEN)
    members = asyncio.run(group_members(client, ["nbgrader-intro", "nbgrader-stats"]))
    assert members == {"nbgrader-intro": {"tanaka", "old-hand"}, "nbgrader-stats": None}
    assert membership_changes(members, outcome) == [
        {
            "course": "intro",
            "group": "nbgrader-intro",
            "exists": True,
            "added": ["suzuki"],
            "already": ["tanaka"],
        },
        {
            "course": "stats",
            "group": "nbgrader-stats",
            "exists": False,
            "added": ["suzuki"],
            "already": [],
        },
    ]


def test_the_preview_shows_course_memberships_read_with_the_services_token(
    tmp_path, config, hub_api
):
    roster = "ユーザー名,コース\ntanaka,intro\nsuzuki,intro、stats\n".encode()

    async def scenario(base):
        form = await fetch(base, PREFIX, "admin-token")
        cookie = form.headers["Set-Cookie"].split(";")[0]
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.body.decode()).group(1)
        boundary = "sunaba-test-boundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="_xsrf"\r\n\r\n{xsrf}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="action"\r\n\r\npreview\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="roster"; '
                'filename="roster.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + roster
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Cookie": cookie,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        return await fetch(base, PREFIX, "admin-token", method="POST", body=body, headers=headers)

    preview = run_service(config, hub_api, scenario)
    text = preview.body.decode()
    assert preview.code == 200, text[-2000:]
    assert "まだ何も変更していません" in text
    courses = re.search(r'id="roster-courses">(.*?)</table>', text, re.S).group(1)
    assert re.search(r"intro</th>\s*<td>suzuki</td><td>tanaka</td>", courses)
    assert re.search(r"stats（グループを新しく作ります）</th>\s*<td>suzuki</td>", courses)
    upload_id = re.search(r'name="upload" value="([0-9a-f]{32})"', text).group(1)
    [kept] = (tmp_path / "state" / "roster-uploads").glob(f"{upload_id}.*")
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert oct(kept.parent.stat().st_mode & 0o777) == "0o700"
