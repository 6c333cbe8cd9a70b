"""The hub REST API client of the roster import, against a small in-process HTTP server that
answers like JupyterHub's /users and /groups endpoints. The real hub is exercised by the
integration tests."""

from __future__ import annotations

import socket
from urllib.parse import unquote

import pytest
from tests.support.fake_hub_api import JsonHandler, serving

from sunaba.core.hubclient import HubApiError, HubUnreachable
from sunaba.users.apply import (
    course_groups,
    sync_hub,
    sync_roster_to_hub,
)
from sunaba.users.roster import RosterEntry

TOKEN = "secret-token"


class FakeHub:
    def __init__(self):
        self.users: set[str] = set()
        self.groups: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str]] = []


def make_handler(hub: FakeHub):
    class Handler(JsonHandler):
        def handle_any(self, method: str) -> None:
            path = unquote(self.path.removeprefix("/hub/api"))
            hub.requests.append((method, path))
            if path == "/" and method == "GET":
                return self.reply(200, {"version": "6.1.1"})
            if self.headers.get("Authorization") != f"token {TOKEN}":
                return self.reply(403, {"status": 403, "message": "Action is not authorized"})
            parts = path.strip("/").split("/")
            if parts == ["users"] and method == "POST":
                new = [u for u in self.json_body()["usernames"] if u not in hub.users]
                if not new:
                    return self.reply(409, {"message": "All users already exist"})
                hub.users.update(new)
                return self.reply(201, [{"name": u} for u in new])
            if parts[0] == "groups" and len(parts) == 2:
                name = parts[1]
                if method == "POST":
                    self.json_body()
                    if name in hub.groups:
                        return self.reply(409, {"message": f"Group {name} already exists"})
                    hub.groups[name] = []
                    return self.reply(201, {"name": name, "users": []})
                if name not in hub.groups:
                    return self.reply(404, {"message": "No such group"})
                return self.reply(200, {"name": name, "users": hub.groups[name]})
            if parts[0] == "groups" and parts[2:] == ["users"] and method == "POST":
                members = hub.groups[parts[1]]
                for user in self.json_body()["users"]:
                    assert user in hub.users
                    if user not in members:
                        members.append(user)
                return self.reply(200, {"name": parts[1], "users": members})
            return self.reply(404, {"message": "not found"})

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

    return Handler


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    with serving(make_handler(hub)) as url:
        yield hub, url


ENTRIES = [
    RosterEntry(row=2, login="tanaka", original_login="tanaka", courses=("intro", "stats")),
    RosterEntry(row=3, login="suzuki", original_login="SUZUKI", courses=("intro",)),
    RosterEntry(row=4, login="yamada", original_login="yamada"),
]


def test_course_groups():
    assert course_groups(ENTRIES) == {
        "nbgrader-intro": ["tanaka", "suzuki"],
        "nbgrader-stats": ["tanaka"],
    }


def test_sync_creates_users_groups_and_members_then_is_idempotent(fake_hub):
    hub, url = fake_hub
    first = sync_roster_to_hub(url, TOKEN, ENTRIES)
    assert first.users_created == ["tanaka", "suzuki", "yamada"]
    assert first.groups_created == ["nbgrader-intro", "nbgrader-stats"]
    assert first.added == {"nbgrader-intro": ["tanaka", "suzuki"], "nbgrader-stats": ["tanaka"]}
    assert hub.groups == {"nbgrader-intro": ["tanaka", "suzuki"], "nbgrader-stats": ["tanaka"]}

    hub.requests.clear()
    second = sync_roster_to_hub(url, TOKEN, ENTRIES)
    assert second.users_created == []
    assert second.groups_created == []
    assert second.added == {}
    assert ("POST", "/groups/nbgrader-intro/users") not in hub.requests


def test_sync_adds_only_missing_members(fake_hub):
    hub, url = fake_hub
    hub.users.update({"tanaka", "old"})
    hub.groups["nbgrader-intro"] = ["old", "tanaka"]
    result = sync_hub(url, TOKEN, ["tanaka", "suzuki"], {"nbgrader-intro": ["tanaka", "suzuki"]})
    assert result.users_created == ["suzuki"]
    assert result.added == {"nbgrader-intro": ["suzuki"]}
    assert hub.groups["nbgrader-intro"] == ["old", "tanaka", "suzuki"]  # never removes


def test_refused_token_is_an_api_error(fake_hub):
    _, url = fake_hub
    with pytest.raises(HubApiError, match="POST /users: HTTP 403 Action is not authorized"):
        sync_roster_to_hub(url, "wrong", ENTRIES)


def test_nothing_listening_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HubUnreachable):
        sync_roster_to_hub(f"http://127.0.0.1:{port}/hub/api", TOKEN, ENTRIES, timeout=2)


def test_only_http_urls():
    with pytest.raises(ValueError):
        sync_hub("file:///etc/passwd", TOKEN, ["a"], {})
