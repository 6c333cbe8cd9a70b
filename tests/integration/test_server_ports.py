"""A learner who holds loopback ports cannot stop another learner's server or stand in for it.

Each learner's server listens on a loopback address of its own (sandbox/addresses.py). The hub
here gives servers ten ports, tried in order. Mallory's server takes the first; Alice's server
runs once and stops. From Mallory's kernel, on Alice's address, the next port is listened on,
the three after it answer HTTP as a fake server would, and two hundred more ports
are held besides. The fakes never complete a connection (the network policy lets only Alice's
own sockets send from her address); Alice's server starts again on a port of its own, and every
server is reached as itself. When every port left is held, the spawn fails at once with a
Japanese message instead of leaving the hub waiting.
"""

from __future__ import annotations

import contextlib
import json

import pytest
import requests

from sunaba.sandbox.addresses import server_address
from sunaba.sandbox.ports import listeners
from tests.support.hub import SunabaHub
from tests.support.ports import hub_with_port_range

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
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the old server's TIME_WAIT
    sock.bind(({address!r}, port))
    sock.listen()
    held.append(sock)
for port in {fakes}:
    fake = http.server.ThreadingHTTPServer(({address!r}, port), Fake)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    held.append(fake)
for _ in range({extra}):
    sock = socket.socket()
    sock.bind(({address!r}, 0))
    sock.listen()
    held.append(sock)
own = http.server.ThreadingHTTPServer(({own!r}, 0), Fake)
threading.Thread(target=own.serve_forever, daemon=True).start()
held.append(own)
print('HELD', len(held), 'OWN', own.server_address[1])
"""

# Every address at once: a wildcard socket on a port keeps any address from listening there.
HOLD_EVERYWHERE = """
for item in held:
    if hasattr(item, 'server_close'):
        item.shutdown()  # its loop's poll() would hold the socket open a while longer
        item.server_close()
    else:
        item.close()
held.clear()
for port in range({first}, {stop}):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(('0.0.0.0', port))
        sock.listen()
    except OSError as exc:
        print('BUSY', port, exc)
        sock.close()
        continue
    held.append(sock)
print('NOW', len(held))
"""


@pytest.fixture(params=[True, False], ids=["fast-start", "bubblewrap"])
def port_hub(request):
    with hub_with_port_range(SPAN, extra={"sandbox": {"fast_start": request.param}}) as found:
        yield found


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


def _answers(address: str, port: int) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"http://{address}:{port}/user/alice/api", timeout=3).ok
    return False


def test_held_ports_neither_block_nor_capture_other_servers(port_hub):
    import jupyterhub

    hub, low = port_hub
    mallory = hub.new_learner("mallory")
    hub.spawn(mallory, timeout=600)
    assert _owners(low) == {low: {_uid(hub, mallory)}}
    alice, bob = hub.new_learner("alice"), hub.new_learner("bob")
    hub.spawn(alice, timeout=600)
    hub.stop_server(alice)
    alice_address = server_address(_uid(hub, alice))
    mallory_address = server_address(_uid(hub, mallory))
    assert alice_address != mallory_address and alice_address.startswith("127.")
    code = HOLD.format(
        version=jupyterhub.__version__,
        address=alice_address,
        own=mallory_address,
        bound=[low + 1],
        fakes=[low + 2, low + 3, low + 4],
        extra=200,
    )
    outcome = hub.run(mallory, code)
    assert outcome["status"] == "ok" and "HELD 205" in outcome["stdout"], outcome
    # Mallory's fake on her own address answers the hub's uid; on Alice's it never does.
    assert _answers(mallory_address, int(outcome["stdout"].split("OWN ")[1].split()[0]))
    assert not _answers(alice_address, low + 2)

    hub.spawn(alice, timeout=600)
    hub.spawn(bob, timeout=600)
    assert hub.identity(alice) == "alice"
    assert hub.identity(bob) == "bob"
    owners = _owners(low)
    assert owners[low + 5] == {_uid(hub, alice)}, owners
    assert owners[low + 6] == {_uid(hub, bob)}, owners
    assert {item.address for item in listeners(low + 5)} == {alice_address}
    log = hub.log_text()
    for port in range(low + 1, low + 5):  # held ports are passed over, nothing started there
        assert f"Port {port} is held by another process; alice's server skips it" in log
    assert "could not listen on port" not in log

    # Every port left held: the spawn fails at once, saying why, and the hub keeps going.
    outcome = hub.run(mallory, HOLD_EVERYWHERE.format(first=low, stop=low + SPAN))
    assert outcome["status"] == "ok" and "NOW 7" in outcome["stdout"], outcome
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
