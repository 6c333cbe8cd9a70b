"""The learners' network policy, attacked from a learner's kernel on a real hub (loopback), and
in network namespaces of the test's own for private, link-local, metadata and "public"
destinations (documentation addresses on a veth pair: no packet leaves the machine)."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
import yaml

from sunaba.sandbox import firewall
from sunaba.sandbox.addresses import server_address
from tests.support.checks import ASSIGNMENT, COURSE, SECRET_NUMBER, run_in_kernel, write_graders
from tests.support.hub import PREFIX, REPO, SUNABA, SunabaHub, free_port

pytestmark = pytest.mark.integration

POSTGRES = ("127.0.0.1", 5432)
CONNECT = textwrap.dedent(
    """
    import json, socket
    found = {}
    for name, host, port in TARGETS:
        try:
            with socket.create_connection((host, port), timeout=5):
                found[name] = "connected"
        except OSError as exc:
            found[name] = type(exc).__name__
    print("RESULT " + json.dumps(found))
    """
)


def _reachable_by_root(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=5):
        return True
    return False


def _server_address(account: str) -> str:
    address = server_address(pwd.getpwnam(account).pw_uid)
    assert address, f"{account} has no server address"
    return address


def _server_port(account: str) -> int:
    """The port another learner's server listens on (its processes run as their account)."""
    uid = pwd.getpwnam(account).pw_uid
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status != psutil.CONN_LISTEN or conn.pid is None:
            continue
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(conn.pid).uids().real == uid:
                return conn.laddr.port
    raise AssertionError(f"no listening server of {account}")


@pytest.fixture(scope="module")
def world(artifacts):
    if os.geteuid() != 0:
        pytest.fail("integration tests create Unix users: run them as root (make test)")
    graders = Path(f"/tmp/sunaba-network-test-{secrets.token_hex(4)}")
    graders.mkdir(mode=0o700)
    write_graders(graders)
    hub = SunabaHub(
        extra={"checks": {"graders": str(graders)}, "network": {"firewall": True}},
        checkout_courses=True,
    )
    try:
        hub.start(timeout=400)  # every course of the checkout is synced first
        a = hub.new_learner("netattacker")
        b = hub.new_learner("netvictim")
        # A check course, and a course of the checkout for the exchange.
        for course in (COURSE, "opendata-intro"):
            added = hub.api("POST", f"/groups/nbgrader-{course}/users", json={"users": [a.name]})
            assert added.ok, added.text
        hub.spawn(a)
        hub.spawn(b)
        yield hub, a, b
    finally:
        (artifacts / "network-policy-hub.log").write_text(hub.log_tail(2000), encoding="utf-8")
        hub.close()
        shutil.rmtree(graders, ignore_errors=True)


def test_up_installs_the_policy_and_says_so(world):
    hub, _, _ = world
    output = hub.output.read_text()
    assert "ネットワーク: nftables のテーブル sunaba_" in output, output
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert "sunaba_" in listed


def test_loopback_services_are_refused_from_a_kernel(world):
    hub, a, b = world
    with socket.socket() as opened:
        opened.bind(("127.0.0.1", 0))
        opened.listen(8)
        targets = [
            ("test-port", "127.0.0.1", opened.getsockname()[1]),
            ("proxy-api", "127.0.0.1", int(_config(hub)["hub"]["proxy_api_port"])),
            ("other-server", _server_address(hub.account_of(b)), _server_port(hub.account_of(b))),
            ("postgresql", *POSTGRES),
        ]
        for name, host, port in targets:
            if name == "postgresql" and not _reachable_by_root(host, port):
                continue  # asserted refused below all the same
            assert _reachable_by_root(host, port), (
                f"{name} must answer root, or the test proves nothing"
            )
        code = f"TARGETS = {targets!r}\n{CONNECT}"
        outcome = run_in_kernel(hub, a, code)
    assert outcome["status"] == "ok", outcome
    found = json.loads(outcome["stdout"].split("RESULT ", 1)[1])
    assert "connected" not in found.values(), found
    for name in ("test-port", "proxy-api", "other-server", "postgresql"):
        assert found[name] == "ConnectionRefusedError", found


LISTEN_ON = textwrap.dedent(
    """
    import socket
    listening = globals().setdefault("listening", {})
    for name, address in ADDRESSES.items():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 0))
        sock.listen(8)
        sock.setblocking(False)
        listening[name] = sock
        print("PORT", name, sock.getsockname()[1])
    """
)
ACCEPTED = textwrap.dedent(
    """
    for name, sock in listening.items():
        try:
            sock.accept()
            print("ACCEPTED", name)
        except BlockingIOError:
            print("NOTHING", name)
    """
)


def test_no_learner_can_answer_on_another_learners_address(world):
    """The attacker listens on the victim's server address (as after the victim's server
    stopped, while the hub still routes there): the hub's uid never completes a connection
    to it, while the attacker's listener on their own address answers."""
    hub, a, b = world
    addresses = {
        "own": _server_address(hub.account_of(a)),
        "victim": _server_address(hub.account_of(b)),
    }
    outcome = run_in_kernel(hub, a, f"ADDRESSES = {addresses!r}\n{LISTEN_ON}")
    assert outcome["status"] == "ok", outcome
    ports = {
        line.split()[1]: int(line.split()[2])
        for line in outcome["stdout"].splitlines()
        if line.startswith("PORT ")
    }
    assert _reachable_by_root(addresses["own"], ports["own"])
    assert not _reachable_by_root(addresses["victim"], ports["victim"])
    outcome = run_in_kernel(hub, a, ACCEPTED)
    assert outcome["status"] == "ok", outcome
    assert "ACCEPTED own" in outcome["stdout"], outcome
    assert "NOTHING victim" in outcome["stdout"], outcome


def test_hub_api_checks_and_exchange_still_work(world):
    hub, a, _ = world
    code = textwrap.dedent(
        f"""
        import json, os, urllib.request
        from ipykernel.connect import get_connection_file
        from IPython.utils.capture import capture_output
        from sunaba.checks import check
        from sunaba.exchange.client import find_service
        token = os.environ["JUPYTERHUB_API_TOKEN"]
        request = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + "/user")
        request.add_header("Authorization", "token " + token)
        print("HUB", json.load(urllib.request.urlopen(request, timeout=10))["name"])
        print("TRANSPORT", json.load(open(get_connection_file()))["transport"])
        base = find_service("sunaba-exchange", token)
        try:
            urllib.request.urlopen(base, timeout=10)
            print("EXCHANGE answered")
        except urllib.error.HTTPError as exc:
            print("EXCHANGE answered", exc.code)
        os.environ["JPY_SESSION_NAME"] = "{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        with capture_output() as shown:
            check("q1", {SECRET_NUMBER})
        print("CHECK", shown.outputs[0].data["text/plain"])
        """
    )
    outcome = run_in_kernel(hub, a, code)
    assert outcome["status"] == "ok", outcome
    out = outcome["stdout"]
    assert f"HUB {a.name}" in out
    assert "TRANSPORT ipc" in out
    assert "EXCHANGE answered" in out
    assert "CHECK ✓ q1" in out, out


def _config(hub) -> dict:
    return yaml.safe_load(hub.config_file.read_text())


# -- private, link-local, metadata and public destinations, in namespaces of the test's own ----

TEST_UID = 4_199_999_990
HOSTS = {
    "private-10": "10.77.0.2",
    "private-172": "172.16.77.2",
    "private-192": "192.168.77.2",
    "link-local": "169.254.77.2",
    "metadata": "169.254.169.254",
    "public-192": "192.0.2.7",
    "public-203": "203.0.113.7",
}
PORT = 8080
PROBE = textwrap.dedent(
    """
    import json, os, socket, sys
    uid = int(sys.argv[1])
    if uid:
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
    found = {}
    for name, host in json.loads(sys.argv[2]).items():
        try:
            with socket.create_connection((host, int(sys.argv[3])), timeout=3):
                found[name] = "connected"
        except OSError as exc:
            found[name] = type(exc).__name__
    print(json.dumps(found))
    """
)
SERVE = textwrap.dedent(
    """
    import socket, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept(); conn.close()
    """
)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def namespaces():
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.fail("needs root and nft (Debian package nftables; see deploy/local/test-tools.sh)")
    tag = secrets.token_hex(3)
    client, hosts = f"sunaba-test-{tag}-c", f"sunaba-test-{tag}-h"
    veth_c, veth_h = f"sbt{tag}c", f"sbt{tag}h"
    server = None
    try:
        _ip("netns", "add", client)
        _ip("netns", "add", hosts)
        _ip("link", "add", veth_c, "netns", client, "type", "veth", "peer", veth_h, "netns", hosts)
        for ns, dev in ((client, veth_c), (hosts, veth_h)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        _ip("-n", client, "addr", "add", "198.51.100.1/24", "dev", veth_c)
        _ip("-n", client, "route", "add", "default", "dev", veth_c)
        for address in HOSTS.values():
            _ip("-n", hosts, "addr", "add", f"{address}/32", "dev", veth_h)
        _ip("-n", hosts, "route", "add", "198.51.100.0/24", "dev", veth_h)
        server = subprocess.Popen(
            ["ip", "netns", "exec", hosts, sys.executable, "-c", SERVE, str(PORT)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout.readline().strip() == "ready"
        yield client
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for ns in (client, hosts):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _probe(netns: str, uid: int, targets: dict, port: int = PORT) -> dict:
    result = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", PROBE, str(uid), json.dumps(targets),
         str(port)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _facts(**changes) -> firewall.Facts:
    facts = firewall.Facts(
        table="sunaba_test_netns", uids=(TEST_UID,), service_ports=(9,), resolvers=()
    )
    return replace(facts, **changes)


def test_private_metadata_refused_public_reached(namespaces):
    assert set(_probe(namespaces, 0, HOSTS).values()) == {"connected"}  # the network works
    firewall.load(_facts(internet=True), netns=namespaces)
    firewall.load(_facts(internet=True), netns=namespaces)  # twice: the same table
    found = _probe(namespaces, TEST_UID, HOSTS)
    for name in ("private-10", "private-172", "private-192", "link-local", "metadata"):
        assert found[name] == "ConnectionRefusedError", found
    assert found["public-192"] == found["public-203"] == "connected", found
    assert set(_probe(namespaces, 0, HOSTS).values()) == {"connected"}  # root untouched


def test_internet_false_refuses_public_and_allow_list_opens_one_host(namespaces):
    allowed = (firewall.Allowed("10.77.0.2", (PORT,)),)
    firewall.load(_facts(internet=False, allowed=allowed), netns=namespaces)
    found = _probe(namespaces, TEST_UID, HOSTS)
    assert found["private-10"] == "connected", found
    for name, state in found.items():
        if name != "private-10":
            assert state == "ConnectionRefusedError", found
    # The allowed port only.
    assert _probe(namespaces, TEST_UID, {"other-port": "10.77.0.2"}, PORT + 1) != {
        "other-port": "connected"
    }


def test_loopback_refused_inside_the_namespace(namespaces):
    firewall.load(_facts(), netns=namespaces)
    code = textwrap.dedent(
        f"""
        import socket, subprocess, sys
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
        port = s.getsockname()[1]
        probe = subprocess.run([sys.executable, "-c", {PROBE!r}, "{TEST_UID}",
                                '{{"loop": "127.0.0.1"}}', str(port)], capture_output=True,
                               text=True)
        print(probe.stdout.strip())
        """
    )
    result = subprocess.run(
        ["ip", "netns", "exec", namespaces, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == {"loop": "ConnectionRefusedError"}, result.stderr


def test_up_refuses_full_isolation_without_the_rules(tmp_path):
    """A machine where nft cannot run: nothing is made, and the message says what to do."""
    site = tmp_path / "sunaba.yaml"
    state = tmp_path / "state"
    site.write_text(
        yaml.safe_dump(
            {
                "hub": {"state_dir": str(state), "prefix": str(PREFIX), "port": free_port()},
                "sandbox": {"user_prefix": "sbtnet-", "home_root": str(tmp_path / "homes")},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNABA")}
    env["SUNABA_NFT"] = str(tmp_path / "no-such-nft")
    result = subprocess.run(
        [str(SUNABA), "--config", str(site), "up"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "受講者のネットワーク制限をインストールできません" in result.stderr, result.stderr
    assert "nftables" in result.stderr and "--insecure-demo" in result.stderr, result.stderr
    assert not state.exists()  # no account, database or secret was made
    assert "Sunaba を起動しました" not in result.stdout
