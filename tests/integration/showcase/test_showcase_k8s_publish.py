"""Showcase on Kubernetes: publishing from the author's own running server, checked in a pod.

No cluster runs here. The Kubernetes API is the fake server in tests/support/fake_kube_apps.py,
a mock of the cluster only, which also acts as the kubelet (it runs the check pod's and the app
pod's real programs from the test runtime as local processes). The author's server is a real
jupyter-server from the test runtime on 127.0.0.1, serving a temporary folder under
`/user/alice/` and accepting only the author's token, as a learner's server in their own pod
does. The hub's REST API is a mock of two routes (the author's own user model with their
servers, and the team's group), standing in for the hub that issues and checks OAuth tokens.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest
import tornado.web

from sunaba.config.loader import validate
from sunaba.core.hubclient import AsyncHubClient
from sunaba.showcase.author_server import find_author_server, read_snapshot
from sunaba.showcase.k8s_check import CHECK_LABEL
from sunaba.showcase.k8s_pods import API_PERMISSIONS
from sunaba.showcase.messages import ShowcaseError
from sunaba.showcase.publish_request import PublishRequest
from sunaba.showcase.records import ShowcaseApp
from sunaba.showcase.sandboxed.snapshot_reader import MANIFEST
from sunaba.showcase.teams import Viewer
from tests.integration.showcase.test_showcase_k8s import Service, app_pods, pod_states
from tests.support.fake_kube_apps import FakeAppCluster
from tests.support.hub import PREFIX, free_port
from tests.support.showcase import notebook

AUTHOR = Viewer(name="alice", groups=frozenset({"team-hinan"}))
SERVICE_TOKEN = "showcase-service-token"
SHELTERS = "名称,収容人数\n中央公民館,120\n北小学校,300\n"


class AuthorServer:
    """A real jupyter-server on loopback: the author's JupyterLab, as the showcase reaches it."""

    def __init__(self, root: Path):
        self.root = root / "home"
        self.root.mkdir()
        self.config_dir = root / "jupyter"
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            "PATH": f"{PREFIX}/venv/bin:/usr/bin:/bin",
            "HOME": str(self.config_dir),
            "JUPYTER_CONFIG_DIR": str(self.config_dir),
            "JUPYTER_RUNTIME_DIR": str(self.config_dir / "runtime"),
            "JUPYTER_DATA_DIR": str(self.config_dir / "data"),
            "LANG": "C.UTF-8",
        }
        self.process = subprocess.Popen(
            [
                str(PREFIX / "venv" / "bin" / "jupyter-server"),
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={self.root}",
                "--ServerApp.base_url=/user/alice/",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.open_browser=False",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        request = urllib.request.Request(
            f"{self.url}/user/alice/api/status", headers={"Authorization": f"token {self.token}"}
        )
        while True:
            assert self.process.poll() is None, "jupyter-server exited"
            try:
                with urllib.request.urlopen(request, timeout=2):
                    return
            except OSError:
                assert time.monotonic() < deadline, "jupyter-server did not answer"
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def put(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def author(workdir):
    server = AuthorServer(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class HubUserAPI(tornado.web.RequestHandler):
    """`GET /hub/api/user`: the token's owner, with their servers (only with their token)."""

    def get(self):
        hub = self.settings["hub"]
        if self.request.headers.get("Authorization") != f"token {hub['author_token']}":
            raise tornado.web.HTTPError(403)
        model = {"kind": "user", "name": "alice"}
        if hub["servers_scope"]:  # the model holds servers only with `read:servers`
            model["servers"] = (
                {"": {"ready": True, "url": "/user/alice/"}} if hub["running"] else {}
            )
        self.finish(model)


class HubGroupAPI(tornado.web.RequestHandler):
    def get(self, name: str):
        if self.request.headers.get("Authorization") != f"token {SERVICE_TOKEN}":
            raise tornado.web.HTTPError(403)
        if name != "team-hinan":
            raise tornado.web.HTTPError(404)
        self.finish({"name": name, "users": ["alice"], "properties": {"title": "避難所班"}})


class PublishingService(Service):
    """The showcase service in `kubernetes` mode, its hub API and authors' servers on loopback."""

    def __init__(self, config, cluster, author: AuthorServer):
        super().__init__(config, cluster)
        self.hub_state = {"author_token": author.token, "running": True, "servers_scope": True}
        self.hub_port = free_port()
        self.hub_app = tornado.web.Application(
            [(r"/hub/api/user", HubUserAPI), (r"/hub/api/groups/([^/]+)", HubGroupAPI)],
            hub=self.hub_state,
        )
        self.hub_server = None
        self.showcase.hub = AsyncHubClient(
            f"http://127.0.0.1:{self.hub_port}/hub/api", SERVICE_TOKEN
        )
        self.showcase.servers_url = author.url
        self.token = author.token

    def listen(self) -> None:
        super().listen()
        self.hub_server = self.hub_app.listen(self.hub_port, "127.0.0.1")

    def close(self) -> None:
        if self.hub_server is not None:
            self.hub_server.stop()
        super().close()

    async def publish(self, path: str, token: str | None = "") -> ShowcaseApp:
        request = PublishRequest(
            notebook=path, title="避難所の一覧", description="", team="hinan", visibility="public"
        )
        token = self.token if token == "" else token
        return await self.showcase.publish(AUTHOR, request, token)


def site_config(workdir: Path, **showcase):
    return validate(
        {
            "hub": {"prefix": str(PREFIX), "state_dir": str(workdir / "state")},
            "sandbox": {"home_root": str(workdir / "homes")},
            "showcase": {"pool_size": 0, "cell_timeout": 30, "thumbnails": False, **showcase},
        },
        "test",
    )


def stored_versions(service: Service) -> list[str]:
    apps = service.paths.app_store(1).parent
    return sorted(str(p.relative_to(apps)) for p in apps.glob("*/v*")) if apps.is_dir() else []


def check_pods(cluster: FakeAppCluster) -> list[str]:
    pods = {**cluster.finished, **cluster.pods}
    return sorted(n for n, p in pods.items() if CHECK_LABEL in p.manifest["metadata"]["labels"])


def run(coroutine):
    return asyncio.run(coroutine)


def test_publish_reads_the_authors_server_checks_in_a_pod_and_serves_the_app(
    workdir, cluster, author
):
    config = site_config(workdir)
    code = (
        "import csv\n"
        "rows = list(csv.reader(open('data/shelters.csv', encoding='utf-8')))\n"
        "print('SHELTERS', len(rows) - 1)\n"
        "try:\n"
        "    open('../secret.txt').read()\n"
        "except OSError:\n"
        "    print('NO-SECRET')\n"
        "import os\n"
        "os.path.exists('../../etc/passwd')\n"
    )
    author.put("work/app.ipynb", notebook(code))
    author.put("work/data/shelters.csv", SHELTERS)
    author.put("secret.txt", "not for the app")
    author.put("other/unrelated.ipynb", notebook("print(1)"))

    async def scenario():
        service = PublishingService(config, cluster, author)
        try:
            service.listen()
            listed = await service.showcase.notebooks(AUTHOR, author.token)
            assert [n["path"] for n in listed] == ["other/unrelated.ipynb", "work/app.ipynb"]

            app = await service.publish("work/app.ipynb")
            assert app.status == "live" and app.live_version == 1
            stored = service.paths.version_dir(app.id, 1)
            files = sorted(str(p.relative_to(stored)) for p in stored.rglob("*") if p.is_file())
            assert files == ["app.ipynb", "data/shelters.csv"], files
            # A name that leaves the notebook's folder is left out, and said so.
            server = await find_author_server(service.showcase.hub.url, author.url, author.token)
            tar = await read_snapshot(server, "work/app.ipynb", 1 << 20)
            with tarfile.open(fileobj=io.BytesIO(tar)) as unpacked:
                manifest = json.load(unpacked.extractfile(MANIFEST))
            skipped = sorted(manifest["skipped"], key=lambda item: item["path"])
            assert skipped == [
                {"path": "../../etc/passwd", "reason": "outside_home"},
                {"path": "../secret.txt", "reason": "outside_folder"},
            ]
            assert (stored / "data/shelters.csv").read_text(encoding="utf-8") == SHELTERS

            # The check ran in a pod of its own, made like an app's pod, and is gone.
            [checked] = check_pods(cluster)
            assert checked in cluster.deleted
            spec = next(m for m in cluster.created if m["metadata"]["name"] == checked)["spec"]
            assert spec["automountServiceAccountToken"] is False
            assert spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
            assert spec["activeDeadlineSeconds"] > 0

            # Served from the app's pod, with the data file the notebook named.
            assert len(app_pods(cluster, app.id)) == 1
            status, body = await service.page(app.id)
            assert status == 200 and "SHELTERS 2" in body, (body[-2000:], pod_states(cluster))
            assert "NO-SECRET" in body
        finally:
            service.close()

    run(scenario())
    calls = set(cluster.requests)
    granted = {(resource, verb) for resource, verbs in API_PERMISSIONS.items() for verb in verbs}
    assert calls <= granted, calls - granted


def test_refusals_store_nothing_and_say_why_in_japanese(workdir, cluster, author):
    config = site_config(workdir, max_snapshot_size="2K")
    author.put("big/app.ipynb", notebook("print(open('big.csv').read()[:10])"))
    author.put("big/big.csv", "x" * 4096)
    # A folder the code names brings all its files: too many of them.
    author.put("many/app.ipynb", notebook("import os\nnames = os.listdir('files')"))
    for i in range(210):
        author.put(f"many/files/f{i}.txt", "1")

    async def scenario():
        service = PublishingService(config, cluster, author)
        try:
            service.listen()
            refusals = {}
            for path in ("big/app.ipynb", "../app.ipynb", "missing.ipynb", "many/app.ipynb"):
                with pytest.raises(ShowcaseError) as refused:
                    await service.publish(path)
                refusals[path] = refused.value
            assert refusals["big/app.ipynb"].details["reason"] == "too_large"
            assert "上限を超えています" in refusals["big/app.ipynb"].message
            assert refusals["../app.ipynb"].details["reason"] == "bad_path"
            assert "正しくありません" in refusals["../app.ipynb"].message
            assert refusals["missing.ipynb"].details["reason"] == "not_found"
            assert refusals["many/app.ipynb"].details["reason"] == "too_many_files"

            # Without the author's own token the showcase reads nothing.
            with pytest.raises(ShowcaseError) as no_token:
                await service.publish("big/app.ipynb", token=None)
            assert no_token.value.status == 403 and "ログイン" in no_token.value.message
            with pytest.raises(ShowcaseError) as other_token:
                await service.publish("big/app.ipynb", token="someone-elses-token")
            assert other_token.value.status == 403

            # A token from before the showcase was allowed to read servers: log in again.
            service.hub_state["servers_scope"] = False
            with pytest.raises(ShowcaseError) as old_login:
                await service.publish("big/app.ipynb")
            assert old_login.value.status == 403 and "ログイン" in old_login.value.message
            service.hub_state["servers_scope"] = True

            # The author's server is not running.
            service.hub_state["running"] = False
            with pytest.raises(ShowcaseError) as stopped:
                await service.publish("big/app.ipynb")
            assert stopped.value.status == 409
            assert "JupyterLab を起動してから" in stopped.value.message
            with pytest.raises(ShowcaseError):
                await service.showcase.notebooks(AUTHOR, author.token)

            assert service.showcase.apps() == []
            assert stored_versions(service) == []
            assert cluster.created == []  # refused before any pod was made
        finally:
            service.close()

    run(scenario())


def test_a_notebook_that_raises_fails_its_check_pod_and_nothing_is_stored(workdir, cluster, author):
    config = site_config(workdir)
    author.put("app.ipynb", notebook("print('before')", "raise ValueError('集計できません')"))

    async def scenario():
        service = PublishingService(config, cluster, author)
        try:
            service.listen()
            with pytest.raises(ShowcaseError) as failed:
                await service.publish("app.ipynb")
            error = failed.value
            assert error.status == 422 and error.details["reason"] == "check_error", (
                error.message,
                pod_states(cluster),
            )
            assert "2 番目のコードセル" in error.message and "集計できません" in error.message
            assert error.details["ename"] == "ValueError"
            assert service.showcase.apps() == []
            assert stored_versions(service) == []
            [checked] = check_pods(cluster)
            assert checked in cluster.deleted and not cluster.pods
        finally:
            service.close()

    run(scenario())


def test_a_refused_check_pod_is_an_error_for_admins_and_nothing_is_stored(workdir, cluster, author):
    config = site_config(workdir)
    author.put("app.ipynb", notebook("print('fine')"))
    cluster.forbidden = {("pods", "create")}

    async def scenario():
        service = PublishingService(config, cluster, author)
        try:
            service.listen()
            with pytest.raises(ShowcaseError) as failed:
                await service.publish("app.ipynb")
            assert failed.value.status == 500
            assert failed.value.details["reason"] == "check_unavailable"
            assert "管理者" in failed.value.message and "403" in failed.value.details["log"]
            assert service.showcase.apps() == []
            assert stored_versions(service) == []
        finally:
            service.close()

    run(scenario())
