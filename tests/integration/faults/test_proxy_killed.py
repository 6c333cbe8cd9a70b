"""Drill: the proxy (configurable-http-proxy) is killed during a class.

`sunaba up` runs the proxy beside the hub and checks on it every half second; once it notices
the proxy has gone it starts a new one and gives it back the routes it had (learners' servers,
services, the hub). Learners' servers and kernels never stopped, so a learner reaches their
server again with their variables in place; nothing learners keep changes.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import requests

from tests.integration.faults.drills import (
    differences,
    running_services,
    snapshot,
    wait_for,
)

MARK = "kept-across-proxy"
NOTICED = "プロキシが終了しました"


def routes(world, proxy_pid: int) -> dict | None:
    """The proxy's routing table (path -> target), read through its API with the token it
    was started with."""
    environ = Path(f"/proc/{proxy_pid}/environ").read_bytes().split(b"\0")
    token = next(
        item.split(b"=", 1)[1].decode()
        for item in environ
        if item.startswith(b"CONFIGPROXY_AUTH_TOKEN=")
    )
    try:
        response = requests.get(
            f"http://127.0.0.1:{world.config.hub.proxy_api_port}/api/routes",
            headers={"Authorization": f"token {token}"},
            timeout=5,
        )
    except requests.RequestException:
        return None
    if not response.ok:
        return None
    return {path: route["target"] for path, route in response.json().items()}


def reachable(world, learner) -> bool:
    try:
        response = requests.get(
            f"{world.hub.url}/user/{learner.name}/api/status",
            headers={"Authorization": f"token {learner.token}"},
            allow_redirects=False,
            timeout=5,
        )
    except requests.RequestException:
        return False
    return response.status_code == 200


def test_a_killed_proxy_is_replaced_and_its_routes_restored(world):
    hub = world.hub
    bob = world.learner("bob")
    outcome = hub.run(bob, f"kept = '{MARK}'; print(kept)")
    assert outcome["stdout"].strip() == MARK, outcome
    old = running_services(world)["proxy"]
    assert len(old) == 1, old
    table = routes(world, old[0])
    assert table and f"/user/{bob.name}" in table and "/services/sunaba-exchange" in table, table
    before = snapshot(world)
    noticed_before = hub.log_text().count(NOTICED)

    killed = time.monotonic()
    os.kill(old[0], signal.SIGKILL)
    wait_for(
        lambda: hub.log_text().count(NOTICED) > noticed_before,
        60,
        "`sunaba up` did not notice its proxy had gone",
        hub,
        every=0.2,
    )
    noticed = time.monotonic()

    def restored():
        new = [pid for pid in running_services(world).get("proxy", []) if pid not in old]
        return new and routes(world, new[0]) == table and reachable(world, bob)

    wait_for(restored, 60, "routes were not restored", hub, every=0.2)
    back = time.monotonic()
    print(
        f"\nproxy killed: noticed after {noticed - killed:.1f} s, routes restored and "
        f"learner's server reachable {back - noticed:.1f} s later ({back - killed:.1f} s in all)"
    )
    assert back - noticed < 15, "routes took longer than a few seconds after `sunaba up` noticed"
    assert len(running_services(world)["proxy"]) == 1

    outcome = hub.run(bob, "print(kept)")  # the same kernel: nothing stopped behind the proxy
    assert outcome["stdout"].strip() == MARK, outcome
    changes = differences(before, snapshot(world))
    assert all(not any(change.values()) for change in changes.values()), changes
