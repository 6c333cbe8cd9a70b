"""Showcase on Kubernetes: published apps served from pods of their own, through the service.

No cluster runs here. The Kubernetes API is the fake server in tests/support/fake_kube_apps.py,
a mock of the cluster only, which also acts as the kubelet: it runs each app pod's real programs
(the snapshot step reading the snapshot from its pods/attach stdin, then the app's real Voilà
server from the test runtime) as local processes, on a loopback address of the pod's own. The
showcase service's real tornado application, in `kubernetes` mode, serves the pages: viewers'
requests go through its proxy to the pod's address, as in the cluster.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient

from sunaba.config.loader import validate
from sunaba.core.hubclient import AsyncHubClient
from sunaba.records.db import default_records_url, ensure_records_schema, make_session_factory
from sunaba.showcase.core import Showcase
from sunaba.showcase.k8s_pods import API_PERMISSIONS, APP_LABEL
from sunaba.showcase.k8s_runner import PodAppRunner
from sunaba.showcase.messages import ShowcaseError
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.proxy import KernelLedger
from sunaba.showcase.records import ShowcaseApp, ShowcaseVersion
from sunaba.showcase.runner import AppStartFailed
from sunaba.showcase.service import make_app
from sunaba.showcase.sockets import SocketDirectory
from sunaba.showcase.store import ensure_store
from sunaba.showcase.teams import Viewer
from tests.support.fake_kube_apps import FakeAppCluster
from tests.support.hub import PREFIX, free_port
from tests.support.showcase import notebook

SERVICE_PREFIX = "/services/showcase/"
ADMIN = Viewer(name="admin", admin=True)
DRAIN = 8  # seconds an old version's pod may finish its pages


async def eventually(condition, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


def site_config(workdir: Path):
    return validate(
        {
            "hub": {"prefix": str(PREFIX), "state_dir": str(workdir / "state")},
            "sandbox": {"home_root": str(workdir / "homes")},
            "showcase": {"pool_size": 0, "cell_timeout": 30, "thumbnails": False},
        },
        "test",
    )


def store_version(paths: ShowcasePaths, app_id: int, number: int, marker: str) -> None:
    folder = paths.version_dir(app_id, number)
    folder.mkdir(parents=True)
    (folder / "app.ipynb").write_text(notebook(f"print('{marker}')"), encoding="utf-8")


def add_app(sessions, numbers: list[int]) -> int:
    with sessions.begin() as session:
        app = ShowcaseApp(
            team="hinan",
            title="避難所マップ",
            visibility="public",
            status="live",
            notebook="app.ipynb",
            created_by="alice",
            live_version=numbers[0],
        )
        session.add(app)
        session.flush()
        for number in numbers:
            session.add(
                ShowcaseVersion(
                    app_id=app.id, number=number, source_path="app.ipynb", published_by="alice"
                )
            )
        return app.id


class Service:
    """The showcase service's tornado application in `kubernetes` mode, on loopback."""

    def __init__(self, config, cluster: FakeAppCluster):
        self.paths = ShowcasePaths.from_config(config)
        ensure_store(self.paths)
        url = default_records_url(config)
        ensure_records_schema(url)
        self.sessions = make_session_factory(url)
        self.showcase = Showcase(
            config,
            "kubernetes",
            service_prefix=SERVICE_PREFIX,
            service_url="http://127.0.0.1:1",
            hub=AsyncHubClient("http://127.0.0.1:1/hub/api", "unused"),
            sessions=self.sessions,
            sockets=SocketDirectory(),
        )
        self.runner: PodAppRunner = self.showcase.runner
        assert isinstance(self.runner, PodAppRunner)
        self.runner.configuration = cluster.configuration()
        self.runner.namespace = "sunaba"
        self.runner.drain_seconds = DRAIN
        self.port = free_port()
        self.app = make_app(
            self.showcase,
            prefix=SERVICE_PREFIX,
            cookie_secret="x" * 32,
            admin_key="k",
            hub_base_url="/hub/",
            site_name="砂場",
            ledger=KernelLedger(),
        )
        self.server = None
        self.http = AsyncHTTPClient(force_instance=True)

    def listen(self) -> None:
        self.server = self.app.listen(self.port, "127.0.0.1")

    async def page(self, app_id: int) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{SERVICE_PREFIX}apps/{app_id}/"
        response = await self.http.fetch(url, raise_error=False, request_timeout=120)
        return response.code, (response.body or b"").decode("utf-8", errors="replace")

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.runner.stop_all()
        self.http.close()


def app_pods(cluster: FakeAppCluster, app_id: int) -> list[str]:
    return sorted(
        name
        for name, pod in cluster.pods.items()
        if pod.manifest["metadata"]["labels"].get(APP_LABEL) == str(app_id)
    )


def pod_states(cluster: FakeAppCluster) -> dict:
    """For a failing test's message: how each pod ended, and what it wrote."""
    pods = {**cluster.finished, **cluster.pods}
    return {
        name: (pod.phase, pod.terminated, pod.killed_for, cluster.output_of(name)[-1500:])
        for name, pod in pods.items()
    }


def run(coroutine):
    return asyncio.run(coroutine)


def test_published_app_is_served_from_its_pod_and_replaced_without_downtime(workdir, cluster):
    config = site_config(workdir)

    async def scenario():
        service = Service(config, cluster)
        try:
            service.listen()
            app_id = add_app(service.sessions, [1, 2, 3])
            for number, marker in ((1, "VERSION-ONE"), (2, "VERSION-TWO"), (3, "VERSION-3")):
                store_version(service.paths, app_id, number, marker)

            # A viewer's first visit starts the live version's pod; meanwhile a Japanese page.
            code, body = await service.page(app_id)
            assert code == 200 and "VERSION-ONE" not in body
            await service.runner.starting[app_id]
            first = app_pods(cluster, app_id)
            assert len(first) == 1
            code, body = await service.page(app_id)
            assert code == 200 and "VERSION-ONE" in body, body[-2000:]
            store_files = sorted(p.name for p in service.paths.version_dir(app_id, 1).iterdir())
            assert store_files == ["app.ipynb"]

            # Version 2 starts beside version 1; viewers are served throughout.
            seen: list[tuple[int, str]] = []
            switching = asyncio.Event()

            async def keep_viewing():
                while not switching.is_set():
                    code, body = await service.page(app_id)
                    marker = "ONE" if "VERSION-ONE" in body else "TWO" if "TWO" in body else ""
                    seen.append((code, marker))

            viewer = asyncio.ensure_future(keep_viewing())
            try:
                await service.showcase.restore(ADMIN, app_id, 2)
                at_switch = app_pods(cluster, app_id)
            finally:
                switching.set()
                await viewer
            assert seen and all(code == 200 and marker for code, marker in seen), (
                seen,
                pod_states(cluster),
            )
            assert seen[0][1] == "ONE"
            # The old pod goes once its last pages are served.
            assert set(first) < set(at_switch)
            await eventually(lambda: set(first) <= set(cluster.deleted), DRAIN + 20)
            second = app_pods(cluster, app_id)
            assert len(second) == 1 and second != first
            code, body = await service.page(app_id)
            assert code == 200 and "VERSION-TWO" in body

            # Version 3 never gets a node: the old version stays live and served.
            cluster.start_delay = 30
            service.runner.start_timeout = 3
            with pytest.raises(ShowcaseError) as failed:
                await service.showcase.restore(ADMIN, app_id, 3)
            assert "起動できませんでした" in failed.value.message
            assert "did not start" in service.runner.failures[app_id]
            assert service.showcase.app(app_id).live_version == 2
            assert app_pods(cluster, app_id) == second
            code, body = await service.page(app_id)
            assert code == 200 and "VERSION-TWO" in body
            cluster.start_delay = 0.3

            # Unpublished: its pods go, and nothing of them keeps running.
            await service.showcase.unpublish(ADMIN, app_id)
            assert app_pods(cluster, app_id) == []
            code, _ = await service.page(app_id)
            assert code == 404
        finally:
            service.close()

    run(scenario())
    calls = set(cluster.requests)
    granted = {(resource, verb) for resource, verbs in API_PERMISSIONS.items() for verb in verbs}
    assert calls <= granted, calls - granted
    assert {
        ("pods", "create"),
        ("pods", "list"),
        ("pods", "delete"),
        ("pods/attach", "get"),
    } <= calls


def test_app_cannot_write_its_snapshot_and_a_dead_pod_is_replaced(workdir, cluster):
    config = site_config(workdir)

    async def scenario():
        service = Service(config, cluster)
        try:
            app_id = add_app(service.sessions, [1])
            folder = service.paths.version_dir(app_id, 1)
            folder.mkdir(parents=True)
            probe = (
                "import pathlib\n"
                "try:\n"
                "    pathlib.Path('app.ipynb').write_text('x')\n"
                "    print('WROTE-SNAPSHOT')\n"
                "except OSError:\n"
                "    print('SNAPSHOT-READ-ONLY')\n"
            )
            (folder / "app.ipynb").write_text(notebook(probe), encoding="utf-8")
            service.listen()
            first = await service.runner.start(app_id, 1, "app.ipynb")
            code, body = await service.page(app_id)
            assert code == 200 and "SNAPSHOT-READ-ONLY" in body, body[-2000:]
            assert "WROTE-SNAPSHOT" not in body

            # The pod dies (an admin deleted it, or its node went away): the watcher notices
            # and the next visit starts a new one.
            pod = cluster.pods[first.name]
            cluster._kill_tree(pod)
            await service.runner.check_live_pods()
            assert service.runner.current(app_id) is None
            code, _ = await service.page(app_id)
            assert code == 200
            await service.runner.starting[app_id]
            again = service.runner.current(app_id)
            assert again is not None and again.name != first.name
            await service.runner.stop(app_id, purge=True)
            assert app_pods(cluster, app_id) == []
        finally:
            service.close()

    run(scenario())


def test_service_exit_deletes_every_app_pod(workdir, cluster):
    config = site_config(workdir)

    async def scenario():
        service = Service(config, cluster)
        app_id = add_app(service.sessions, [1])
        store_version(service.paths, app_id, 1, "VERSION-ONE")
        try:
            await service.runner.start(app_id, 1, "app.ipynb")
            assert len(app_pods(cluster, app_id)) == 1
        finally:
            service.close()
        assert app_pods(cluster, app_id) == []

    run(scenario())


def test_a_refused_api_call_is_a_failed_start_with_the_reason(workdir, cluster):
    config = site_config(workdir)
    cluster.forbidden = {("pods", "create")}

    async def scenario():
        service = Service(config, cluster)
        app_id = add_app(service.sessions, [1])
        store_version(service.paths, app_id, 1, "VERSION-ONE")
        try:
            with pytest.raises(AppStartFailed):
                await service.runner.start(app_id, 1, "app.ipynb")
            assert "403" in service.runner.failures[app_id]
            assert "sunaba-showcase" in service.runner.failures[app_id]
            assert service.runner.current(app_id) is None
        finally:
            service.close()

    run(scenario())


def test_pods_left_by_a_killed_service_are_removed_at_the_next_start(workdir, cluster):
    config = site_config(workdir)

    async def scenario():
        before = Service(config, cluster)
        live = add_app(before.sessions, [1])
        gone = add_app(before.sessions, [1])
        for app_id in (live, gone):
            store_version(before.paths, app_id, 1, f"APP-{app_id}")
            await before.runner.start(app_id, 1, "app.ipynb")
        left_by_live = app_pods(cluster, live)
        with before.sessions.begin() as session:
            session.get(ShowcaseApp, gone).status = "unpublished"
        before.http.close()  # killed: its pods stay

        after = Service(config, cluster)
        try:
            await after.showcase.purge_leftovers()
            assert app_pods(cluster, gone) == []
            assert app_pods(cluster, live) == left_by_live
            # The live app's next start replaces the pod it does not know.
            await after.showcase.start_all()
            await eventually(lambda: set(left_by_live) <= set(cluster.deleted), DRAIN + 20)
            assert len(app_pods(cluster, live)) == 1
        finally:
            after.close()

    run(scenario())
