"""A learner who holds loopback ports cannot stop another learner's server or stand in for it.

The hub here gives servers ten ports, tried in order. Mallory's server takes the first; from
Mallory's kernel, the next one is bound (not listening), the three after it answer HTTP as a
fake server would, and two hundred more ports are held besides. Every other learner's server
must still start, on a port of its own, and be reached as itself; when every port left is held,
the spawn fails at once with a Japanese message instead of leaving the hub waiting.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from sunaba.sandbox.ports import listeners
from tests.support.hub import SunabaHub
from tests.support.ports import free_port_block

pytestmark = pytest.mark.integration

SPAN = 10

HOLD = """
import http.server, socket, threading
held = globals().setdefault('held', [])
class Fake(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{{"identity": {{"username": "FAKE"}}, "version": "2.0.0"}}'
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('X-JupyterHub-Version', '{version}')
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
for port in {bound}:
    sock = socket.socket()
    sock.bind(('127.0.0.1', port))
    held.append(sock)
for port in {fakes}:
    fake = http.server.ThreadingHTTPServer(('127.0.0.1', port), Fake)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    held.append(fake)
for _ in range({extra}):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen()
    held.append(sock)
print('HELD', len(held))
"""

HOLD_MORE = """
for port in range({first}, {stop}):
    sock = socket.socket()
    sock.bind(('127.0.0.1', port))
    held.append(sock)
print('NOW', len(held))
"""


@pytest.fixture(params=[True, False], ids=["fast-start", "bubblewrap"])
def port_hub(request):
    low = free_port_block(SPAN)
    extra = Path(tempfile.mkdtemp(prefix="sunaba-test-ports-"))
    extra.chmod(0o755)
    rule = extra / "50-ports.py"
    rule.write_text(f"c.SandboxSpawner.port_range = ({low}, {low + SPAN - 1})\n")
    rule.chmod(0o644)
    test_hub = SunabaHub(
        extra={
            "hub": {"extra_config_dir": str(extra)},
            "sandbox": {"fast_start": request.param},
        }
    )
    try:
        test_hub.start(timeout=600)
        yield test_hub, low
    finally:
        test_hub.close()
        shutil.rmtree(extra, ignore_errors=True)


def _owners(low: int) -> dict[int, set[int]]:
    """Port -> uids of the sockets listening on it, over the hub's range."""
    found: dict[int, set[int]] = {}
    for port in range(low, low + SPAN):
        for item in listeners(port):
            found.setdefault(port, set()).add(item.uid)
    return found


def _uid(hub: SunabaHub, learner) -> int:
    import pwd

    return pwd.getpwnam(hub.account_of(learner)).pw_uid


def test_held_ports_neither_block_nor_capture_other_servers(port_hub):
    import jupyterhub

    hub, low = port_hub
    mallory = hub.new_learner("mallory")
    hub.spawn(mallory, timeout=600)
    assert _owners(low) == {low: {_uid(hub, mallory)}}
    code = HOLD.format(
        version=jupyterhub.__version__,
        bound=[low + 1],
        fakes=[low + 2, low + 3, low + 4],
        extra=200,
    )
    outcome = hub.run(mallory, code)
    assert outcome["status"] == "ok" and "HELD 204" in outcome["stdout"], outcome
    # The fakes answer as a server would (what the hub alone checks before routing).
    fake = requests.get(f"http://127.0.0.1:{low + 2}/user/alice/api", timeout=10)
    assert fake.ok and fake.headers["X-JupyterHub-Version"] == jupyterhub.__version__

    alice, bob = hub.new_learner("alice"), hub.new_learner("bob")
    hub.spawn(alice, timeout=600)
    hub.spawn(bob, timeout=600)
    assert hub.identity(alice) == "alice"
    assert hub.identity(bob) == "bob"
    owners = _owners(low)
    assert owners[low + 5] == {_uid(hub, alice)}, owners
    assert owners[low + 6] == {_uid(hub, bob)}, owners
    log = hub.log_text()
    for port in range(low + 1, low + 5):  # held ports are passed over, nothing started there
        assert f"Port {port} is held by another process; alice's server skips it" in log
    assert "could not listen on port" not in log

    # Every port left held: the spawn fails at once, saying why, and the hub keeps going.
    outcome = hub.run(mallory, HOLD_MORE.format(first=low + 7, stop=low + SPAN))
    assert outcome["status"] == "ok" and "NOW 207" in outcome["stdout"], outcome
    carol = hub.new_learner("carol")
    message = _failed_spawn(hub, carol)
    assert "学習用サーバーを起動できませんでした" in message, message
    assert f"{low + 7}, {low + 8}, {low + 9}" in message, message
    assert hub.identity(alice) == "alice"


def _failed_spawn(hub: SunabaHub, learner) -> str:
    """The message a learner is shown for a spawn that fails (the spawn page reads it from the
    progress of the spawn, also when the request itself already answered with an error)."""
    response = hub.api("POST", f"/users/{learner.name}/server", token=learner.token)
    assert response.status_code in (202, 500), response.text
    progress = requests.get(
        f"{hub.url}/hub/api/users/{learner.name}/server/progress",
        headers={"Authorization": f"token {learner.token}"},
        stream=True,
        timeout=120,
    )
    events = []
    for line in progress.iter_lines(decode_unicode=True):
        if line and line.startswith("data:"):
            events.append(json.loads(line[5:]))
            if events[-1].get("failed"):
                return events[-1]["message"]
    raise AssertionError(f"the spawn did not fail: {events}")
