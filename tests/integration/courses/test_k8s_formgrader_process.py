"""A course's formgrader pod, run: the real `jupyterhub-singleuser` with nbgrader's formgrader,
started from the Deployment the sync sends to a fake API server, registered with a running
JupyterHub through Sunaba's live-services route, and opened through the hub's proxy and OAuth.

No Kubernetes cluster runs here. `tests.support.fake_kube.FakeKubernetes(run_deployments=True)`
is a mock of the cluster only: it keeps the objects it is sent and runs each Deployment's pod as
a local process on 127.0.0.1 with the container's command, working directory and environment
(the token read from the Secret); see tests/support/fake_workloads.py for what else it stands in
for. The hub is a real JupyterHub with its real proxy (tests/support/plain_hub.py) running
Sunaba's real `LiveServicesHandler`; the sync reaches it with an admin token, as in the hub pod.
Cluster DNS is a table: the pod reaches the `hub` Service at the hub's loopback address, and in
the hub process the formgrader's Service name is resolved to the pod's loopback address (the
hub config replaces `k8s_formgraders.service_url` with that lookup, and only that). No exchange
runs and nobody's own server is spawned.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests

from sunaba.classroom import hub as hooks
from sunaba.classroom.sync import sync_courses
from sunaba.core.hubclient import HubClient
from sunaba.deploy import k8s_formgraders as F
from sunaba.deploy import k8s_layout as L
from sunaba.hub.apply import HubFacts, hub_services_and_roles
from sunaba.hub.areas import gather_areas
from sunaba.hub.live_services import wanted_services
from tests.support.fake_kube import FakeKubernetes
from tests.support.hub import free_port
from tests.support.k8s_courses import NAMESPACE, add_course, site
from tests.support.plain_hub import PlainHub

START_TIMEOUT = 90
SERVICE = "formgrader-kiso"

LIVE_SERVICES = """
from pathlib import Path
from sunaba.config.loader import validate
from sunaba.deploy import k8s_formgraders
from sunaba.hub.apply import HubFacts, current_services_and_roles
from sunaba.hub.live_services import ROUTE, LiveServicesHandler

# Cluster DNS stand-in: a formgrader's Service name resolves to its fake pod's loopback address.
k8s_formgraders.service_url = lambda course_id: settings["cluster_dns"][course_id]
facts = HubFacts(
    sandbox_mode="kubernetes",
    hub_config_dir=Path(settings["hub_config_dir"]),
    service_tokens=settings["service_tokens"],
)
site_config = validate(settings["site_config"], "test")
c.JupyterHub.extra_handlers = [
    (
        ROUTE,
        LiveServicesHandler,
        {
            "site_config": site_config,
            "facts": facts,
            "services_and_roles": current_services_and_roles,
        },
    )
]
"""


def start_hub(hub: PlainHub, config, facts: HubFacts, pod_port: int) -> None:
    """The hub as the hub pod starts before any course is synced: Sunaba's services known by
    name (the live route leaves services it already has alone), the admin service's role."""
    specs, roles = wanted_services(config, facts, hub_services_and_roles)
    services = [
        {"name": name, **({"api_token": spec["api_token"]} if "api_token" in spec else {})}
        for name, spec in specs.items()
    ]
    hub.configure(
        services=services,
        roles=[r for r in roles if r["name"] == "sunaba-admin"],
        groups={},
        users=["teach", "ann"],
        extra_config=LIVE_SERVICES,
        cluster_dns={"kiso": f"http://127.0.0.1:{pod_port}"},
        hub_config_dir=str(facts.hub_config_dir),
        service_tokens=facts.service_tokens,
        site_config=config.model_dump(mode="json"),
    )
    hub.start()


@pytest.fixture(scope="module")
def running():
    data = Path(tempfile.mkdtemp(prefix="sunaba-test-k8s-formgrader-"))
    hub = None
    try:
        (data / "state").mkdir(mode=0o700)
        (data / "hub").mkdir()
        add_course(data, "kiso")
        config = site(data, culler=False)
        admin = secrets.token_hex(32)
        facts = HubFacts(
            sandbox_mode="kubernetes",
            hub_config_dir=Path(L.HUB_SOURCE_DIR) / "hub_config",
            service_tokens={"sunaba-admin": admin},
        )
        hub = PlainHub(data / "hub")
        pod_port = free_port()
        start_hub(hub, config, facts, pod_port)
        hosts = {
            f"hub:{L.HUB_PORT}": f"127.0.0.1:{hub.hub_port}",
            f"{F.object_name('kiso')}:{L.FORMGRADER_PORT}": f"127.0.0.1:{pod_port}",
        }
        with (
            pytest.MonkeyPatch.context() as patch,
            FakeKubernetes(run_deployments=True, cluster_hosts=hosts) as fake,
        ):
            patch.setenv("POD_NAMESPACE", NAMESPACE)
            client = HubClient(f"http://127.0.0.1:{hub.hub_port}/hub/api", admin, timeout=60)
            report = sync_courses(config, client=client, kube_configuration=fake.configuration())
            assert report.ok, report.lines()
            pod = fake.workloads.pods[F.object_name("kiso")]
            probe = F.pod_spec(config, "kiso")["containers"][0]["readinessProbe"]["httpGet"]
            wait_ready(pod, probe["path"])
            yield SimpleNamespace(
                data=data, fake=fake, config=config, pod=pod, hub=hub, facts=facts,
                client=client, report=report,
            )  # fmt: skip
    finally:
        if hub is not None:
            hub.stop()
        shutil.rmtree(data, ignore_errors=True)


def wait_ready(pod, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if pod.process.returncode is not None:
            pytest.fail(f"the formgrader exited ({pod.process.returncode}):\n{pod.log_text()}")
        try:
            if requests.get(pod.url + path, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the formgrader did not answer its readiness probe:\n{pod.log_text()[-3000:]}")


def test_the_sync_registers_the_formgrader_with_the_running_hub(running):
    assert f"採点画面を起動しました: {SERVICE}" in running.report.notes
    status, model = running.client.call("GET", f"/services/{SERVICE}")
    assert status == 200
    assert model["command"] == [] or not model.get("command")  # external: the hub runs nothing
    assert model["prefix"] == f"/services/{SERVICE}/"


def test_the_pod_runs_the_formgrader_with_the_token_the_hub_registers(running):
    facts = replace(running.facts, areas=gather_areas(running.config))
    specs = {s["name"]: s for s in hooks.services(running.config, facts)}
    environ = psutil.Process(running.pod.process.pid).environ()
    assert environ["JUPYTERHUB_API_TOKEN"] == specs[SERVICE]["api_token"]
    assert environ["JUPYTERHUB_SERVICE_NAME"] == SERVICE
    assert "nbgrader.server_extensions.formgrader | extension was successfully loaded" in (
        running.pod.log_text()
    )


def test_the_courses_grader_opens_the_formgrader_through_the_hub(running):
    session = running.hub.login("teach")
    page = session.get(f"{running.hub.url}/services/{SERVICE}/formgrader", timeout=60)
    assert page.status_code == 200, (page.status_code, running.hub.log_tail())
    # Through the hub's OAuth and back to nbgrader's own first page, served by the pod.
    assert page.url == f"{running.hub.url}/services/{SERVICE}/formgrader/manage_assignments"
    assert "formgrader" in page.text.lower()
    # The formgrader's own API answers the grader, with the course directory's assignments.
    listing = session.get(f"{running.hub.url}/services/{SERVICE}/formgrader/api/assignments")
    assert listing.status_code == 200, listing.text[:500]
    assert [a["name"] for a in listing.json()] == ["hw1"]


def test_someone_outside_the_course_staff_is_refused(running):
    session = running.hub.login("ann")
    page = session.get(f"{running.hub.url}/services/{SERVICE}/formgrader", timeout=60)
    assert page.status_code == 403
    api = session.get(f"{running.hub.url}/services/{SERVICE}/formgrader/api/assignments")
    assert api.status_code in (302, 403) or "/hub/api/oauth2/authorize" in api.url
    assert "hw1" not in api.text


def test_retiring_the_course_stops_its_pod(running):
    process = running.pod.process
    shutil.rmtree(running.data / "courses" / "kiso")
    report = sync_courses(
        running.config, client=running.client, kube_configuration=running.fake.configuration()
    )
    assert any("採点画面のポッドを削除しました" in line for line in report.lines())
    assert f"採点画面を停止しました: {SERVICE}" in report.notes
    assert process.returncode is not None
    assert F.object_name("kiso") not in running.fake.workloads.pods
    status, _ = running.client.call("GET", f"/services/{SERVICE}", ok=[404])
    assert status == 404
    page = running.hub.login("teach").get(f"{running.hub.url}/services/{SERVICE}/formgrader")
    assert page.status_code in (404, 503)
