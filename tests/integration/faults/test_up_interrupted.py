"""Drill: `sunaba up` with three courses is stopped with Ctrl-C, started, killed with SIGKILL and
started again.

Ctrl-C (SIGINT to the foreground process group, as in `make up`) must end everything the run
started, also what runs in sessions of its own (the proxy, and what JupyterHub starts: the idle
culler, the exchange, the check service, the roster page, every course's formgrader) and the
learners' servers, and say so.
A start after a killed run must end what that run left before it begins, so that no second
exchange, check service, culler or formgrader runs beside the old ones. Nothing learners keep
changes, and a learner starts their server again and reaches it through the proxy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import requests

from tests.integration.faults.drills import (
    differences,
    run_leftovers,
    run_ports,
    running_services,
    snapshot,
    wait_for,
)

THIRD_COURSE = "sansu"
SERVICES = {
    "hub",
    "proxy",
    "idle-culler",
    "sunaba-exchange",
    "sunaba-checks",
    "roster",
    "formgrader-kiso",
    "formgrader-oyo",
    f"formgrader-{THIRD_COURSE}",
}
# Where the site uses them: the fast-start server and the showcase.
OPTIONAL = {"zygote", "showcase"}


def add_third_course(world) -> None:
    world.add_small_course(THIRD_COURSE, "算数コース", "算数1")
    assert world.sync().ok


def one_of_each(world) -> dict[str, list[int]]:
    """Wait until every service runs once (the optional ones too, where they are used)."""

    def settled():
        found = running_services(world)
        wanted = SERVICES | (OPTIONAL & found.keys())
        if found.keys() == wanted and all(len(pids) == 1 for pids in found.values()):
            return found
        return None

    return wait_for(settled, 90, f"not one of each: {running_services(world)}", world.hub)


def reachable(world, learner) -> bool:
    response = requests.get(
        f"{world.hub.url}/user/{learner.name}/api/status",
        headers={"Authorization": f"token {learner.token}"},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code == 200


def start_after(world, old: dict[str, list[int]]) -> float:
    """Start `sunaba up` while an earlier run may still answer on the same port; wait until
    the new run's hub answers. Returns the seconds it took."""
    started = time.monotonic()
    world.hub.start()
    old_hub = set(old["hub"])

    def new_hub_up():
        hub = set(running_services(world).get("hub", []))
        with contextlib.suppress(requests.RequestException):  # the old hub is being ended
            return hub and not hub & old_hub and world.hub.api("GET", "/").ok
        return False

    wait_for(new_hub_up, 180, "the new run's hub did not come up", world.hub)
    return time.monotonic() - started


def test_ctrl_c_ends_everything_and_a_start_after_a_kill_ends_the_leftovers(world):
    hub = world.hub
    add_third_course(world)
    cat = world.learner("cat")
    assert reachable(world, cat)
    first = one_of_each(world)
    ports = run_ports(world)
    before = snapshot(world)

    # Ctrl-C: the whole foreground process group of `sunaba up` gets SIGINT.
    started = time.monotonic()
    os.killpg(hub.proc.pid, signal.SIGINT)
    code = hub.proc.wait(timeout=90)
    took = time.monotonic() - started
    print(f"\nCtrl-C stopped sunaba up in {took:.1f} s")
    assert code == 0, hub.log_tail(40)
    output = hub.output.read_text(errors="replace")
    assert "Sunaba を停止しています" in output and "停止しました（" in output, output[-2000:]
    assert run_leftovers(world, ports) == []

    hub.start()
    second = one_of_each(world)
    assert second.keys() == first.keys(), (first, second)
    assert not set(sum(second.values(), [])) & set(sum(first.values(), []))

    # A killed `sunaba up` leaves its hub, proxy and services running...
    os.kill(hub.proc.pid, signal.SIGKILL)
    hub.proc.wait()
    time.sleep(1)
    assert running_services(world).keys() >= SERVICES - {"hub"}, running_services(world)
    # ...and the next start ends them before it begins.
    took = start_after(world, second)
    print(f"start after a killed run: hub up in {took:.1f} s")
    assert "前回の実行で残っていたプロセスを" in hub.output.read_text(errors="replace")
    third = one_of_each(world)
    assert third.keys() == first.keys(), (first, third)
    assert not set(sum(third.values(), [])) & set(sum(second.values(), []))

    started = time.monotonic()
    hub.login(cat)
    wait_for(lambda: not world._running(cat), 60, "the old server is still listed", hub)
    hub.spawn(cat)
    assert reachable(world, cat)
    print(f"learner's server back through the proxy in {time.monotonic() - started:.1f} s")
    changes = differences(before, snapshot(world))
    assert all(not any(change.values()) for change in changes.values()), changes
