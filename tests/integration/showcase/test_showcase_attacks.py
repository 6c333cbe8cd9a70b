"""Attacks that must fail: an app's code reaching its author's home, another app's snapshot, the
hub's state dir, a token or the network; a viewer sending code to a kernel; path traversal
through Voilà's static and file routes; a snapshot that smuggles in files from outside."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path

import pytest
import yaml

from tests.support.hub import PREFIX
from tests.support.showcase import (
    kernel_id_of,
    notebook,
    put_file,
    send_over_kernel_socket,
)

pytestmark = pytest.mark.integration

PROBE_LINE = re.compile(r"PROBE (\w+) (LEAKED|blocked)")

PROBE = r"""
import json, os, socket

def report(name, leaked, detail=''):
    # One line per attempt, quote-free so it reads the same in the page's HTML.
    print('PROBE', name, 'LEAKED' if leaked else 'blocked', detail)

for name, path in json.loads(PATHS).items():
    try:
        with open(path, 'rb') as handle:
            report(name, True, handle.read(200).decode('utf-8', 'replace'))
    except OSError as exc:
        report(name, False, type(exc).__name__)
try:
    # bwrap creates the parents of its mount points, so the app sees its own folder there
    # (the kernel runs in <home_root>/<its account>/v<N>).
    own = os.getcwd().split('/')[-2]
    others = [name for name in os.listdir(HOME_ROOT) if name != own]
    report('listing_homes', bool(others), ','.join(others))
except OSError as exc:
    report('listing_homes', False, type(exc).__name__)
secrets_in_env = [k for k in os.environ if 'TOKEN' in k or 'SECRET' in k or 'KEY' in k]
report('env_tokens', bool(secrets_in_env), ','.join(secrets_in_env))
try:
    socket.create_connection(('127.0.0.1', HUB_PORT), timeout=2).close()
    report('hub_network', True)
except OSError as exc:
    report('hub_network', False, type(exc).__name__)
try:
    with open(PREFIX + '/showcase-was-here', 'w') as handle:
        handle.write('x')
    report('write_prefix', True)
except OSError as exc:
    report('write_prefix', False, type(exc).__name__)
"""


@pytest.fixture(scope="module")
def hub_secrets(showcase_hub) -> dict:
    return yaml.safe_load((showcase_hub.state_dir / "secrets.yaml").read_text())


@pytest.fixture(scope="module")
def probe_app(client, people, author_home, team_app, showcase_hub) -> tuple[int, dict]:
    """A public app whose code tries to read what no app may read, at publish and at view."""
    hub = showcase_hub
    other_snapshot = hub.home_root / f"{hub.user_prefix}_app{team_app}" / "v1" / "app.ipynb"
    paths = {
        "author_secret": str(author_home / "private" / "secret.txt"),
        "other_app_snapshot": str(other_snapshot),
        "hub_secrets": str(hub.state_dir / "secrets.yaml"),
        "hub_db": str(hub.state_dir / "jupyterhub.sqlite"),
        "store": str(hub.state_dir / "showcase" / "admin_key"),
        "shadow": "/etc/shadow",
    }
    # Each target exists on the host: "blocked" below means the sandbox stopped the read.
    assert all(Path(path).exists() for path in paths.values())
    code = (
        f"PATHS = {json.dumps(json.dumps(paths))}\nHUB_PORT = {hub.port}\n"
        f"HOME_ROOT = {str(hub.home_root)!r}\nPREFIX = {str(PREFIX)!r}\n" + PROBE
    )
    put_file(hub, people["author"], "work/probe.ipynb", notebook(code))
    response = client.publish(
        people["author"], "work/probe.ipynb", "のぞき見アプリ", "alpha", visibility="public"
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], paths


def probe_results(page_text: str) -> dict[str, str]:
    return dict(PROBE_LINE.findall(page_text))


def test_app_code_cannot_reach_homes_snapshots_state_tokens_or_network(
    client, probe_app, hub_secrets
):
    app_id, paths = probe_app
    page = client.page(app_id)
    assert page.status_code == 200
    results = probe_results(page.text)
    expected = {*paths, "listing_homes", "env_tokens", "hub_network", "write_prefix"}
    assert set(results) == expected, page.text[-2000:]
    leaked = {name for name, status in results.items() if status != "blocked"}
    assert leaked == set(), leaked
    assert "AUTHOR-SECRET-4711" not in page.text
    for token in hub_secrets["service_tokens"].values():
        assert token not in page.text


def test_the_snapshot_reader_refuses_a_link_out_of_the_home(client, people, showcase_hub):
    """A notebook that names a symlink to another learner's file: the link is not packed."""
    hub = showcase_hub
    author = people["author"]
    mate_home = hub.home_of(people["mate"])
    probe = hub.run(
        author,
        f"import os\nos.symlink({str(mate_home / 'diary.txt')!r}, 'work/diary.txt')\n"
        f"os.symlink('/etc', 'work/etc-link')\nprint('linked')",
    )
    assert probe["stdout"].strip() == "linked", probe
    put_file(
        hub,
        author,
        "work/links.ipynb",
        notebook("print(open('diary.txt').read() if False else 'ok')", "x = 'etc-link/passwd'"),
    )
    response = client.publish(author, "work/links.ipynb", "リンク", "alpha")
    assert response.status_code == 201, response.text
    files = response.json()["versions"][-1]["files"]
    assert files == ["links.ipynb"]


def test_a_viewer_cannot_execute_code_in_the_kernel(client, probe_app, showcase_hub):
    app_id, _ = probe_app
    page = client.page(app_id, keep_kernel=True)
    kernel = kernel_id_of(page.text)
    try:
        executed = send_over_kernel_socket(
            showcase_hub,
            app_id,
            kernel,
            "execute_request",
            {"code": "print('VIEWER-RAN-CODE')", "silent": False},
        )
        assert not any(m["msg_type"] in ("execute_reply", "stream") for m in executed), executed
        # The same socket does carry the widget protocol's messages.
        info = send_over_kernel_socket(
            showcase_hub, app_id, kernel, "comm_info_request", {"target_name": ""}
        )
        assert any(m["msg_type"] == "comm_info_reply" for m in info), info
    finally:
        client.shutdown_kernel(app_id, kernel)


def test_a_kernel_id_not_handed_out_is_refused(client, probe_app):
    app_id, _ = probe_app
    made_up = "12345678-1234-4234-8234-123456789012"
    assert client.page(app_id, path=f"api/kernels/{made_up}").status_code == 403
    assert client.shutdown_kernel(app_id, made_up) == 403


TRAVERSALS = [
    "voila/files/../../../../../../etc/passwd",
    "voila/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "voila/files/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "voila/static/../../../../../../../etc/passwd",
    "voila/static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "voila/templates/../../../../../../etc/passwd",
    "voila/templates/lab/static/../../../../../../../../etc/passwd",
    "voila/templates/..%2f..%2f..%2f..%2f..%2f..%2fetc/static/passwd",
    "voila/labextensions/../../../../../../etc/passwd",
    "voila/files/probe.ipynb",
    "voila/files//etc/passwd",
    "_sunaba/status",
    "voila/files/%5c..%5c..%5cetc%5cpasswd",
]


def raw_get(port: int, path: str) -> tuple[int, str, str]:
    # http.client sends the path exactly as written: no client-side normalisation of '..'.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        return response.status, response.getheader("Location") or "", body
    finally:
        connection.close()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_through_voila_routes_is_refused(showcase_hub, probe_app, path):
    app_id, _ = probe_app
    app_path = f"/services/showcase/apps/{app_id}/"
    # Through the hub's proxy, as a browser would send it (the proxy may resolve '..' itself
    # and hand the request to the hub instead, which answers with a redirect or a 404).
    status, location, body = raw_get(showcase_hub.port, app_path + path)
    assert status in (302, 400, 403, 404), (status, body[:300])
    assert not location.startswith(app_path)
    assert "root:x:0:0" not in body and "PROBE" not in body
    # Straight to the service, so that its own checks are what is tested.
    service = json.loads((showcase_hub.state_dir / "showcase" / "service.json").read_text())
    port = int(service["url"].split(":")[2].split("/")[0])
    status, _, body = raw_get(port, app_path + path)
    assert status in (400, 403, 404), (status, body[:300])
    assert "root:x:0:0" not in body and "PROBE" not in body
