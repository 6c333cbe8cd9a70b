"""A course's formgrader pod, run: the real `jupyterhub-singleuser` with nbgrader's formgrader,
started from the Deployment the sync sends to a fake API server, registered with JupyterHub when
the sync has the running hub reload, and opened through the hub's proxy and OAuth.

No Kubernetes cluster runs here. `tests.support.fake_kube.FakeKubernetes(run_deployments=True)`
is a mock of the cluster only: it keeps the objects it is sent and runs each Deployment's pod as
a local process on 127.0.0.1 with the container's command, working directory and environment
(the token read from the Secret); see tests/support/fake_workloads.py for what else it stands in
for. The hub is a real JupyterHub with its real proxy (tests/support/plain_hub.py) whose config
computes Sunaba's services and roles from the state dir at every start, as the hub pod's does; the
sync reaches it with an admin token, as in the hub pod, and asks it to shut down for the reload.
The test then starts it again, which is what the pod does when the hub's container exits (the
kubelet is the other thing that cannot run here).
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
from sunaba.hub.apply import HubFacts
from sunaba.hub.areas import gather_areas
from tests.support.fake_kube import FakeKubernetes
from tests.support.hub import free_port
from tests.support.k8s_courses import NAMESPACE, add_course, site
from tests.support.plain_hub import PlainHub

START_TIMEOUT = 90
SERVICE = "formgrader-kiso"

HUB_POD_SERVICES = """
from pathlib import Path
from sunaba.config.loader import validate
from sunaba.deploy import k8s_formgraders
from sunaba.hub.apply import HubFacts, hub_services_and_roles
from sunaba.hub.areas import gather_areas

# Cluster DNS stand-in: a formgrader's Service name resolves to its fake pod's loopback address.
k8s_formgraders.service_url = lambda course_id: settings["cluster_dns"][course_id]
site_config = validate(settings["site_config"], "test")
facts = HubFacts(
    sandbox_mode="kubernetes",
    hub_config_dir=Path(settings["hub_config_dir"]),
    service_tokens=settings["service_tokens"],
    areas=gather_areas(site_config),
)
services, roles = hub_services_and_roles(site_config, facts)
# Formgraders are external services (their pods); of the services the hub would run itself
# (the exchange, ...), which this test does not run, only the names and tokens are kept.
c.JupyterHub.services = [
    spec if spec["name"].startswith("formgrader-") else
    {key: spec[key] for key in ("name", "api_token") if key in spec}
    for spec in services
]
c.JupyterHub.load_roles = roles
"""


def start_hub(hub: PlainHub, config, facts: HubFacts, pod_port: int) -> None:
    """The hub as the hub pod starts it: services and roles computed from the state dir."""
    hub.configure(
        services=[],
        roles=[],
        groups={},
        users=["teach", "ann"],
        extra_config=HUB_POD_SERVICES,
        cluster_dns={"kiso": f"http://127.0.0.1:{pod_port}"},
        hub_config_dir=str(facts.hub_config_dir),
        service_tokens=facts.service_tokens,
        site_config=config.model_dump(mode="json"),
    )
    hub.start()


def start_again_as_the_pod_does(hub: PlainHub) -> None:
    """The hub shut itself down for the reload; the pod starts its container again."""
    assert hub.proc is not None
    assert hub.proc.wait(timeout=60) == 0, hub.log_tail()
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
            start_again_as_the_pod_does(hub)
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


def test_the_sync_has_the_running_hub_reload_and_register_the_formgrader(running):
    assert f"採点画面を起動します: {SERVICE}" in running.report.notes
    assert any("ハブを再起動しています" in note for note in running.report.notes)
    # The restarted hub has it (the admin token may list services, not read their details);
    # that it routes it to the pod is what the tests below open.
    status, listing = running.client.call("GET", "/services")
    assert status == 200 and SERVICE in listing, listing


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
    assert f"採点画面を停止します: {SERVICE}" in report.notes
    start_again_as_the_pod_does(running.hub)
    assert process.returncode is not None
    assert F.object_name("kiso") not in running.fake.workloads.pods
    status, _ = running.client.call("GET", f"/services/{SERVICE}", ok=[404])
    assert status == 404
    page = running.hub.login("teach").get(f"{running.hub.url}/services/{SERVICE}/formgrader")
    assert page.status_code in (404, 503)
