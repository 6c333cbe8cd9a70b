"""A class of sixty starts at once while one learner holds half the ports servers are given.

The hub hands out servers from a range of 130 loopback ports. Mallory's kernel first holds every
other port of the range on every address at once (wildcard sockets, some bound only, some
listening), so the spawner meets a taken port on almost every first try. Then sixty learners
ask for their servers in the same moment, at the hub's default spawn limits: those over the
limit are told to wait (429) and ask again, as the hub's Japanese waiting page does by itself.
Every one of them must come up on its own address (servers may share a port number) where no
other socket would answer, and answer as itself through the proxy; none is lost.
"""

from __future__ import annotations

import pwd
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sunaba.sandbox.addresses import server_address
from sunaba.sandbox.ports import listeners, reaches
from tests.support.hub import Learner, SunabaHub
from tests.support.ports import hub_with_port_range

pytestmark = pytest.mark.integration

CLASS = 60
# What a learner's browser session holds for their own server.
SCOPES = ["servers!user", "read:servers!user", "access:servers!user", "read:users!user"]
SPAN = 130

HOLD = """
import socket
held = globals().setdefault('held', [])
for index, port in enumerate(range({low} + 1, {low} + {span}, 2)):
    sock = socket.socket()
    try:
        sock.bind(('0.0.0.0', port))
    except OSError:
        continue
    if index % 2:
        sock.listen()
    held.append(sock)
print('HELD', len(held))
"""


@pytest.fixture
def class_hub():
    # The default concurrent spawn limit; room for the whole class however large this
    # machine's memory is measured (the default active limit follows it).
    with hub_with_port_range(
        SPAN, memory_limit="512M", extra={"hub": {"active_server_limit": CLASS + 10}}
    ) as found:
        yield found


def _class_of(hub: SunabaHub, size: int) -> list[Learner]:
    """Accounts made by the admin (a class list imported at once, not sixty sign-ups: the
    password hashing of those is not what this test is about), each with its own token."""
    names = [f"class{index:02d}" for index in range(size)]
    made = hub.api("POST", "/users", json={"usernames": names})
    assert made.status_code == 201, made.text
    admin = hub.ensure_admin()
    learners = []
    for name in names:
        token = hub.api(
            "POST",
            f"/users/{name}/tokens",
            token=admin.token,
            json={"expires_in": 3600, "scopes": SCOPES},
        )
        assert token.status_code == 201, token.text
        learners.append(Learner(name=name, password="", token=token.json()["token"]))
    return learners


def _ready_or_error(hub: SunabaHub, learner, deadline: float) -> str:
    """'' once the learner's server is ready, or what went wrong."""
    while True:  # as the hub's Japanese 429 page does: wait and ask again
        response = hub.api("POST", f"/users/{learner.name}/server", token=learner.token)
        if response.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(random.uniform(2, 5))
    if response.status_code not in (201, 202):
        return f"{learner.name}: {response.status_code} {response.text}"
    while time.monotonic() < deadline:
        model = hub.api("GET", f"/users/{learner.name}", token=learner.token).json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return ""
        if "servers" in model and not server and not model.get("pending"):
            return f"{learner.name}: the spawn failed (the hub gave up on it)"
        time.sleep(2)
    return f"{learner.name}: not ready in time"


def test_sixty_at_once_beside_a_port_hoarder(class_hub):
    hub, low = class_hub
    mallory = hub.new_learner("mallory")
    hub.spawn(mallory, timeout=600)
    outcome = hub.run(mallory, HOLD.format(low=low, span=SPAN), timeout=120)
    assert outcome["status"] == "ok" and "HELD" in outcome["stdout"], outcome
    held = int(outcome["stdout"].split("HELD")[1])
    assert held >= SPAN // 2 - 2, outcome

    learners = _class_of(hub, CLASS)
    started = time.monotonic()
    deadline = started + 900
    with ThreadPoolExecutor(max_workers=CLASS) as pool:
        errors = [e for e in pool.map(lambda x: _ready_or_error(hub, x, deadline), learners) if e]
    assert not errors, "\n".join(errors) + "\n" + hub.log_tail(60)
    print(f"{CLASS} servers ready in {time.monotonic() - started:.1f} s")

    uids = {pwd.getpwnam(hub.account_of(x)).pw_uid: x.name for x in learners}
    serving: dict[str, int] = {}
    for port in range(low, low + SPAN):
        found = listeners(port)
        for item in found:
            if item.uid not in uids:
                continue
            # On its learner's own address, with no other socket that would answer there
            # (Mallory's wildcard sockets included): servers may share a port number, never an
            # address and port.
            assert item.address == server_address(item.uid), (port, item)
            rivals = [o for o in found if o != item and reaches(o, item.address)]
            assert not rivals, (port, item, rivals)
            serving[uids[item.uid]] = port
    assert sorted(serving) == sorted(x.name for x in learners)
    with ThreadPoolExecutor(max_workers=8) as pool:
        identities = list(pool.map(hub.identity, learners))
    assert identities == [x.name for x in learners]
    assert "held by another process" in hub.log_text()
