"""Learners' kernels find hub services with the one lookup the exchange client and the instant
checks share, from the runtime venv and from the portable copy nbgrader uses."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

CODE = """
import json, os, sunaba.checks, sunaba.exchange.client as installed
import sunaba_portable.exchange.client as portable
token = os.environ["JUPYTERHUB_API_TOKEN"]
found = {"installed": installed.discover(token), "portable": portable.discover(token)}
found["checks_module"] = sunaba.checks.__file__
try:
    found["checks"] = sunaba.checks._discover(token)
except sunaba.checks.CheckUnavailable as exc:
    found["checks_refused"] = str(exc)
try:
    installed.find_service("no-such-service", token)
except installed.ServiceNotFound as exc:
    found["missing"] = [exc.reason, exc.status]
print(json.dumps(found, ensure_ascii=False))
"""


def test_learner_kernel_finds_services_through_the_shared_lookup(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob")
    outcome = world.hub.run(bob, CODE)
    assert outcome["status"] == "ok", outcome
    found = json.loads(outcome["stdout"].strip().splitlines()[-1])
    assert found["installed"] == found["portable"]
    assert found["installed"].startswith("http://127.0.0.1:")
    assert found["installed"].endswith("/services/sunaba-exchange/")
    # sunaba comes from the runtime venv, not from the checkout (invisible in the sandbox).
    assert found["checks_module"].startswith(str(world.config.hub.prefix))
    # These courses have no graders: bob may not look the check service up, and is told so
    # in the checks' own words.
    assert "確認機能を使う権限がありません" in found["checks_refused"], found
    reason, status = found["missing"]
    assert reason == "forbidden" and status in (403, 404), found
