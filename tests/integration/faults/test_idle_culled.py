"""Drill: one learner's server is stopped for being idle while another learner keeps working.

The hub's idle culler runs with the shortest timeout the config allows (60 s, checked every
10 s), with nothing else set: learners' servers then report their activity to the hub every
15 s (a quarter of the timeout; JupyterHub's 300 s would let the culler stop a learner who
works). Learner A saves a notebook and goes idle; learner B runs a
small cell every few seconds. A's server is stopped about a minute after its last activity; B's
server and kernel (its variable) go on; A's saved files are byte-identical afterwards, and A
starts again and finds the notebook.
"""

from __future__ import annotations

import os
import subprocess
import time

import nbformat
import pytest
import requests

from tests.integration.faults.drills import fingerprint, wait_for
from tests.support.hub import SunabaHub

TIMEOUT, EVERY, ACTIVITY = 60, 10, 15
BEAT = 5  # seconds between two of B's cells


@pytest.fixture
def culling_hub():
    if os.geteuid() != 0:
        pytest.fail("this drill creates Unix accounts: run it as root")
    hub = SunabaHub(
        extra={
            "culler": {"enabled": True, "timeout": TIMEOUT, "every": EVERY},
        }
    )
    try:
        hub.start()
        yield hub
    finally:
        hub.close()


def contents(hub: SunabaHub, learner, path: str, method: str = "GET", **kwargs):
    return requests.request(
        method,
        f"{hub.url}/user/{learner.name}/api/contents/{path}",
        headers={"Authorization": f"token {learner.token}"},
        timeout=60,
        **kwargs,
    )


def server_of(hub: SunabaHub, learner) -> dict | None:
    model = hub.api("GET", f"/users/{learner.name}")
    assert model.ok, model.text
    return model.json().get("servers", {}).get("")


def keep_working_until_culled(hub: SunabaHub, worker, idle, limit: float) -> tuple[float, int]:
    """B runs a cell every BEAT seconds until A's server is gone; returns (when A's server was
    found gone, how many cells B ran)."""
    deadline, beats = time.monotonic() + limit, 0
    while time.monotonic() < deadline:
        outcome = hub.run(worker, "n += 1; print(n)")
        assert outcome["status"] == "ok", outcome
        beats += 1
        assert outcome["stdout"].strip() == str(beats), outcome
        if server_of(hub, idle) is None:
            return time.monotonic(), beats
        time.sleep(BEAT)
    raise AssertionError(f"the idle server was not culled within {limit} s\n{hub.log_tail(40)}")


def test_an_idle_server_is_culled_while_another_learner_works(culling_hub):
    hub = culling_hub
    ann, ben = hub.new_learner("icann"), hub.new_learner("icben")
    for learner in (ann, ben):
        hub.spawn(learner)
    assert hub.run(ben, "n = 0; print('ready')")["stdout"].strip() == "ready"
    kernel = ben.kernel

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    saved = contents(hub, ann, "idle.ipynb", "PUT", json={"type": "notebook", "content": nb})
    assert saved.status_code == 201, saved.text
    last_activity = time.monotonic()
    before = fingerprint(hub.home_of(ann), visible_only=True)
    assert "idle.ipynb" in before

    culled, beats = keep_working_until_culled(hub, ben, ann, TIMEOUT + 3 * EVERY + 90)
    took = culled - last_activity
    print(
        f"\nidle culled: timeout {TIMEOUT} s, every {EVERY} s: stopped {took:.0f} s after its "
        f"last activity; the other learner ran {beats} cells meanwhile"
    )
    assert TIMEOUT - 1 <= took <= TIMEOUT + 2 * EVERY + 2 * ACTIVITY + BEAT + 15, took

    account = hub.account_of(ann)
    wait_for(
        lambda: not subprocess.run(["pgrep", "-u", account], capture_output=True).stdout,
        30,
        "processes of the culled learner are left",
        hub,
    )
    assert fingerprint(hub.home_of(ann), visible_only=True) == before
    working = server_of(hub, ben)
    assert working and working.get("ready"), working
    assert ben.kernel == kernel
    assert hub.run(ben, "print(n)")["stdout"].strip() == str(beats)

    hub.spawn(ann)
    found = contents(hub, ann, "idle.ipynb")
    assert found.ok, found.text
    assert found.json()["content"]["cells"][0]["source"] == "x = 1"
    assert fingerprint(hub.home_of(ann), visible_only=True) == before
