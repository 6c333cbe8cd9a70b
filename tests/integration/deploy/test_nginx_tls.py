"""A real nginx, configured by `sunaba deploy render vm`, in front of a real hub over TLS.

The certificate is made by the test with openssl; nginx listens on loopback high ports. The
shared session hub stands behind it exactly as `sunaba-hub.service` would on a server.
"""

from __future__ import annotations

import secrets
import shutil

import pytest
import requests

from sunaba.config.loader import validate
from sunaba.deploy.rendered import write_files
from sunaba.deploy.vm import render_vm
from tests.support.deploy.kernel import execute
from tests.support.deploy.tls_nginx import Nginx, make_certificate
from tests.support.hub import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def front(hub, tmp_path_factory):
    assert shutil.which("nginx"), "nginx is needed (Debian package nginx)"
    root = tmp_path_factory.mktemp("nginx")
    root.chmod(0o755)  # nginx's workers (www-data) read the temp dirs
    cert, key = make_certificate(root)
    http_port, https_port = free_port(), free_port()
    config = validate(
        {
            "hub": {"port": hub.port},
            "deploy": {
                "vm": {
                    "listen_address": "127.0.0.1",
                    "http_port": http_port,
                    "https_port": https_port,
                    "tls_certificate": str(cert),
                    "tls_certificate_key": str(key),
                    "max_upload_size": "1M",
                }
            },
        },
        "test",
    )
    write_files(render_vm(config), root / "rendered")
    nginx = Nginx(root, root / "rendered" / "nginx" / "sunaba.conf")
    checked = nginx.test_config()
    assert checked.returncode == 0, checked.stderr
    nginx.start(https_port)
    try:
        yield {
            "nginx": nginx,
            "https": f"https://127.0.0.1:{https_port}",
            "http": f"http://127.0.0.1:{http_port}",
            "ca": str(cert),
            "limit": config,
        }
    finally:
        nginx.stop()


def test_nginx_accepts_the_rendered_config(front):
    result = front["nginx"].test_config()
    assert result.returncode == 0
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_http_is_redirected_to_https(front):
    response = requests.get(f"{front['http']}/hub/login?next=%2Fhub%2F", allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"] == f"{front['https']}/hub/login?next=%2Fhub%2F"


def test_login_lab_and_kernel_websocket_over_tls(hub, front):
    learner = hub.new_learner(f"ngx{secrets.token_hex(2)}")
    session = requests.Session()
    session.trust_env = False  # else $REQUESTS_CA_BUNDLE would replace the test CA
    session.verify = front["ca"]
    page = session.get(f"{front['https']}/hub/login", timeout=30)
    assert page.status_code == 200
    assert "ログイン" in page.content.decode("utf-8")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    login = session.post(
        f"{front['https']}/hub/login",
        data={
            "username": learner.name,
            "password": learner.password,
            "_xsrf": session.cookies.get("_xsrf", ""),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 302, login.text[:500]

    hub.spawn(learner)
    lab = session.get(f"{front['https']}/user/{learner.name}/lab", timeout=60)
    assert lab.status_code == 200
    assert lab.url.startswith(front["https"])
    assert "JupyterLab" in lab.text

    headers = {"Authorization": f"token {learner.token}"}
    kernel = session.post(
        f"{front['https']}/user/{learner.name}/api/kernels",
        headers=headers,
        json={"name": "python3"},
        timeout=60,
    )
    kernel.raise_for_status()
    ws_url = (
        f"wss://{front['https'].removeprefix('https://')}/user/{learner.name}"
        f"/api/kernels/{kernel.json()['id']}/channels"
    )
    # As a browser does it: the session's cookies and an Origin header, no token.
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    browser = {"Cookie": cookies, "Origin": front["https"]}
    # As JupyterLab does, the helper first repeats kernel_info_request until the fresh kernel
    # answers: before that, what the kernel publishes may not yet be wired to this websocket.
    outcome = execute(ws_url, browser, "5 * 4", front["ca"], timeout=180)
    assert outcome["status"] == "ok", front["nginx"].log()
    assert outcome["result"] == "20"
    hub.stop_server(learner)


def test_uploads_above_the_limit_are_refused_by_nginx(front):
    limit = front["limit"]
    from sunaba.config.schema import parse_size
    from sunaba.deploy.vm_nginx import upload_limit

    too_big = b"x" * (parse_size(upload_limit(limit)) + 1024)
    response = requests.post(
        f"{front['https']}/hub/api/", data=too_big, verify=front["ca"], timeout=60
    )
    assert response.status_code == 413
