"""Both faces of the hub API client against a small threaded HTTP server on loopback that
answers like JupyterHub's REST API: JSON answers, error answers, 404s, pagination, and nothing
listening. What the roster import does with the client is in tests/unit/users."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import parse_qs, urlsplit

import pytest

from sunaba.core.hubclient import (
    PAGINATION,
    AsyncHubClient,
    HubApiError,
    HubClient,
    HubUnreachable,
    hub_api_url,
)
from tests.support.fake_hub_api import JsonHandler, serving

TOKEN = "secret-token"
GROUPS = [{"name": f"team-{i}", "users": []} for i in range(3)]


class Handler(JsonHandler):
    seen: list[tuple[str, str, dict]]

    def handle_any(self) -> None:
        url = urlsplit(self.path)
        path = url.path.removeprefix("/hub/api")
        body = self.json_body()
        self.seen.append((self.command, self.path, dict(self.headers)))
        if self.headers.get("Authorization") != f"token {TOKEN}":
            return self.reply(403, {"status": 403, "message": "Action is not authorized"})
        if path == "/echo":
            return self.reply(200, {"method": self.command, "body": body})
        if path == "/empty":
            return self.reply(204)
        if path == "/text-error":
            return self.reply(500, raw=b"<html>Internal Server Error</html>")
        if path == "/users/alice":
            return self.reply(200, {"name": "alice", "groups": ["team-0"]})
        if path == "/groups" and self.command == "GET":
            offset = int(parse_qs(url.query).get("offset", ["0"])[0])
            page = GROUPS[offset : offset + 2]
            following = offset + 2 < len(GROUPS)
            return self.reply(
                200,
                {
                    "items": page,
                    "_pagination": {
                        "offset": offset,
                        "limit": 2,
                        "total": len(GROUPS),
                        "next": {"offset": offset + 2} if following else None,
                    },
                },
            )
        return self.reply(404, {"status": 404, "message": f"No such thing: {path}"})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


@pytest.fixture
def hub():
    """(API URL, the requests it saw)."""
    seen: list[tuple[str, str, dict]] = []
    with serving(type("RecordingHandler", (Handler,), {"seen": seen})) as url:
        yield url, seen


@pytest.fixture
def nowhere() -> str:
    """An API URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hub/api"


@pytest.fixture(autouse=True)
def proxy_in_environment(monkeypatch):
    """The clients must not go through a proxy from the environment: this one does not exist."""
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_hub_api_url():
    class Hub:
        hub_port = 8081
        base_url = "/jh/"

    class Config:
        hub = Hub

    assert hub_api_url(Config) == "http://127.0.0.1:8081/jh/hub/api"


# -- sync face -----------------------------------------------------------------------------


def test_sync_json_answer(hub):
    url, seen = hub
    client = HubClient(url, TOKEN, timeout=5)
    assert client.call("POST", "/echo", {"a": 1}) == (200, {"method": "POST", "body": {"a": 1}})
    assert seen[-1][2]["Content-Type"] == "application/json"
    assert client.call("DELETE", "/empty") == (204, None)


def test_sync_error_answer(hub):
    url, _ = hub
    client = HubClient(url, "wrong", timeout=5)
    with pytest.raises(HubApiError) as info:
        client.call("GET", "/users/alice")
    assert (info.value.status, info.value.message) == (403, "Action is not authorized")
    assert str(info.value) == "GET /users/alice: HTTP 403 Action is not authorized"


def test_sync_listed_statuses_are_answers(hub):
    url, _ = hub
    client = HubClient(url, TOKEN, timeout=5)
    assert client.call("GET", "/groups/none", ok=[404]) == (
        404,
        {"status": 404, "message": "No such thing: /groups/none"},
    )


def test_sync_error_without_json_gives_the_body(hub):
    url, _ = hub
    with pytest.raises(HubApiError) as info:
        HubClient(url, TOKEN, timeout=5).call("GET", "/text-error")
    assert info.value.status == 500
    assert info.value.message == "<html>Internal Server Error</html>"


def test_sync_nothing_listening(nowhere):
    with pytest.raises(HubUnreachable) as info:
        HubClient(nowhere, TOKEN, timeout=2).call("GET", "/")
    assert str(info.value).startswith(f"{nowhere}: ")
    assert isinstance(info.value, OSError)  # callers that caught connection errors still do


def test_sync_only_http_urls():
    with pytest.raises(ValueError):
        HubClient("file:///etc/passwd", TOKEN, timeout=2)


# -- async face ----------------------------------------------------------------------------


def test_async_json_answer(hub):
    url, _ = hub
    client = AsyncHubClient(url, TOKEN)
    assert asyncio.run(client.request("PUT", "/echo", {"b": 2})) == {
        "method": "PUT",
        "body": {"b": 2},
    }
    assert asyncio.run(client.user("alice")) == {"name": "alice", "groups": ["team-0"]}
    assert asyncio.run(client.request("DELETE", "/empty")) is None


def test_async_error_answer(hub):
    url, _ = hub
    with pytest.raises(HubApiError) as info:
        asyncio.run(AsyncHubClient(url, "wrong").user("alice"))
    assert (info.value.status, info.value.message) == (403, "Action is not authorized")
    assert str(info.value) == "403: Action is not authorized"


def test_async_404_is_none(hub):
    url, _ = hub
    client = AsyncHubClient(url, TOKEN)
    assert asyncio.run(client.user("nobody")) is None
    assert asyncio.run(client.group("none")) is None


def test_async_pages_are_joined(hub):
    url, seen = hub
    assert asyncio.run(AsyncHubClient(url, TOKEN).groups()) == GROUPS
    requested = [(path, headers.get("Accept")) for _, path, headers in seen]
    assert requested == [
        ("/hub/api/groups?offset=0", PAGINATION),
        ("/hub/api/groups?offset=2", PAGINATION),
    ]


def test_async_nothing_listening(nowhere):
    with pytest.raises(HubUnreachable) as info:
        asyncio.run(AsyncHubClient(nowhere, TOKEN).groups())
    assert info.value.url == nowhere
    assert isinstance(info.value, OSError)
