"""Apps outlive their authors' servers and hub restarts (this module runs last: it restarts the
package's hub)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support.hub import account_exists

pytestmark = pytest.mark.integration


def live_apps(client, viewer) -> dict[int, int]:
    apps = client.api("GET", "apps", viewer).json()
    return {a["id"]: a["live_version"] for a in apps if a["status"] == "live"}


def test_apps_survive_the_authors_server_and_a_hub_restart(client, people, team_app, showcase_hub):
    hub = showcase_hub
    hub.stop_server(people["author"])
    assert "MARK-V1" in client.page(team_app, people["mate"]).text
    apps_before = live_apps(client, people["mate"])
    assert len(apps_before) >= 3
    # What a service that died mid-publish (or an older version) left: an account and a home
    # for an app that is not live. The service removes them when it starts.
    stale = f"{hub.user_prefix}_app9998"
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(hub.home_root / stale)]
        + ["--shell", "/usr/sbin/nologin", "--user-group", stale],
        check=True,
    )
    (hub.home_root / stale / "run-x").mkdir(parents=True)
    assert hub.stop() < 15
    hub.start()
    # Every app comes back (a viewer arriving during the cold start sees a progress page).
    page = client.wait_page(team_app, people["mate"])
    assert page.status_code == 200 and "MARK-V1" in page.text
    assert live_apps(client, people["mate"]) == apps_before
    for app_id in apps_before:
        assert client.wait_page(app_id, people["mate"]).status_code == 200
    assert client.page(team_app, people["outsider"]).status_code == 403
    deadline = time.monotonic() + 60
    while account_exists(stale) and time.monotonic() < deadline:
        time.sleep(1)
    assert not account_exists(stale) and not (hub.home_root / stale).exists()
