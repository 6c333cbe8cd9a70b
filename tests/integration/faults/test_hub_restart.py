"""Drill: the hub stopped with SIGTERM and started again, then the hub process killed with
SIGKILL and started again.

A stop or a crash of the hub ends every learner's server and kernel, by design: `sunaba up`
owns the lifetime of all it started (sandbox limits, the network policy it removes on the way
out), so nothing keeps running unconfined or unwatched. What a class needs is that nothing is
lost and that learners can go on: after each restart their files, the exchange's storage and the
gradebooks are unchanged, no stale server is left behind the proxy, and a learner starts their
server again and reaches it through the proxy, with a fresh kernel (see docs/how-to/deploy-vm.md,
"When the hub stops or crashes").
"""

from __future__ import annotations

import os
import signal

import requests

from tests.integration.faults.drills import (
    descendants,
    differences,
    learner_processes,
    snapshot,
    wait_for,
)

MARK = "kept-before-restart"


def hub_process(hub) -> int:
    """The JupyterHub process `sunaba up` runs."""
    for pid in descendants(hub.proc.pid):
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
        if any(arg.endswith(b"/jupyterhub") for arg in args[:2]):
            return pid
    raise AssertionError(f"no hub process\n{hub.log_tail(40)}")


def through_proxy(world, learner) -> requests.Response:
    return requests.get(
        f"{world.hub.url}/user/{learner.name}/api/status",
        headers={"Authorization": f"token {learner.token}"},
        allow_redirects=False,
        timeout=30,
    )


def prepare(world):
    """A learner with a running server, a file of their own and a variable in a kernel."""
    hub = world.hub
    cat = world.learner("cat")
    outcome = hub.run(cat, f"open('notes.txt', 'w').write('{MARK}'); kept = '{MARK}'; print(kept)")
    assert outcome["stdout"].strip() == MARK, outcome
    assert through_proxy(world, cat).status_code == 200
    return cat


def check_after_restart(world, cat, before: dict) -> None:
    hub = world.hub
    hub.login(cat)
    wait_for(lambda: not world._running(cat), 60, "the old server is still listed", hub)
    assert through_proxy(world, cat).status_code != 200
    hub.spawn(cat)
    assert through_proxy(world, cat).status_code == 200
    outcome = hub.run(cat, "print(open('notes.txt').read()); print('kept' in globals())")
    assert outcome["stdout"].split() == [MARK, "False"], outcome
    changes = differences(before, snapshot(world))
    assert all(not any(change.values()) for change in changes.values()), changes


def test_sigterm_then_start_loses_nothing(world):
    hub = world.hub
    cat = prepare(world)
    before = snapshot(world)
    hub.stop()
    assert hub.proc.returncode == 0, hub.log_tail(40)
    assert learner_processes(hub) == []
    hub.start()
    check_after_restart(world, cat, before)


def test_sigkill_of_the_hub_then_start_loses_nothing(world):
    hub = world.hub
    cat = prepare(world)
    before = snapshot(world)
    os.kill(hub_process(hub), signal.SIGKILL)
    # `sunaba up` sees its hub die, ends what it started and says so (under systemd the unit
    # is then restarted).
    assert hub.proc.wait(timeout=60) != 0
    assert "ハブが終了コード" in hub.log_text()
    assert learner_processes(hub) == []
    hub.start()
    check_after_restart(world, cat, before)
