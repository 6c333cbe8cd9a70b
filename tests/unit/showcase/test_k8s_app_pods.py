"""Showcase on Kubernetes: each app version's pod, the chart's RBAC and NetworkPolicies for it.

No cluster runs here. The pod manifests are the ones `sunaba.showcase.k8s_runner` sends (built by
`k8s_pods.app_pod`); the chart is rendered from a site config and its values validated against
the Zero to JupyterHub chart's real schema; the NetworkPolicies are Sunaba's rendered ones with
the chart's own hub and proxy policies built from the rendered values (tests/support/deploy).
Serving an app from such a pod is exercised against a fake API server in
tests/integration/showcase/test_showcase_k8s.py.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from sunaba.config.loader import validate
from sunaba.config.schema import parse_size
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_rbac import showcase_rbac
from sunaba.deploy.k8s_schema import find_chart_reference, validate_values
from sunaba.showcase import hub as showcase_hub
from sunaba.showcase.core import Showcase
from sunaba.showcase.k8s_pods import (
    API_PERMISSIONS,
    SNAPSHOT_CONTAINER,
    SNAPSHOT_DIR,
    VOILA_CONTAINER,
    app_pod,
    snapshot_payload,
)
from sunaba.showcase.k8s_runner import PodAppRunner
from sunaba.showcase.messages import ShowcaseError
from sunaba.showcase.runner import AppRunner
from sunaba.showcase.sandboxed.receive_snapshot import safe_relative, write_files
from sunaba.showcase.sockets import SocketDirectory
from sunaba.showcase.teams import Viewer
from tests.support.deploy.netpol import Endpoint, allowed
from tests.support.deploy.z2jh import HUB_POD_LABELS, PROXY_POD_LABELS, chart_network_policies

SITE = {
    "deploy": {"server_name": "sunaba.pref.example.jp"},
    "showcase": {"memory_limit": "1G", "cpu_limit": 0.5, "max_snapshot_size": "20M"},
}
SHOWCASE_PORT = 8091


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="sunaba-k8s-app-test-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def config():
    return validate(SITE, "test")


@pytest.fixture(scope="module")
def pod(config):
    return app_pod(config, "sunaba-app-3-v2-abcdef", 3, 2, "/services/showcase/apps/3/", "a.ipynb")


def containers(pod) -> dict[str, dict]:
    spec = pod["spec"]
    return {c["name"]: c for c in [*spec["initContainers"], *spec["containers"]]}


def test_app_pod_runs_as_a_learner_pod_does_without_credentials(pod):
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert "serviceAccountName" not in spec
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in containers(pod).values():
        assert container["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": L.LEARNER_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert container["image"] == "sunaba/singleuser:0.1.0"
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_app_pod_limits_come_from_the_showcase_config(pod):
    for container in containers(pod).values():
        limits = {"memory": str(parse_size("1G")), "cpu": "0.5"}
        assert container["resources"] == {"limits": limits, "requests": limits}
    sizes = {v["name"]: v["emptyDir"]["sizeLimit"] for v in pod["spec"]["volumes"]}
    assert sizes["snapshot"] == str(parse_size("20M"))


def test_snapshot_is_read_only_for_the_app_and_the_store_is_not_mounted(pod):
    by_name = containers(pod)
    voila_mounts = {m["mountPath"]: m for m in by_name[VOILA_CONTAINER]["volumeMounts"]}
    assert voila_mounts[SNAPSHOT_DIR]["readOnly"] is True
    # Only the init step writes the snapshot, and it reads it from its stdin (pods/attach).
    init = by_name[SNAPSHOT_CONTAINER]
    assert init["stdin"] is True and init["stdinOnce"] is True
    assert not init["volumeMounts"][0].get("readOnly")
    # Nothing but two emptyDirs: no claim (not the hub's state, not the shared volume).
    assert all(set(v) == {"name", "emptyDir"} for v in pod["spec"]["volumes"])


def test_voila_listens_on_the_pods_address_with_the_showcase_settings(config, pod):
    voila = containers(pod)[VOILA_CONTAINER]
    settings = json.loads(voila["command"][-1])
    assert settings["notebook"] == f"{SNAPSHOT_DIR}/a.ipynb"
    assert settings["port"] == L.SHOWCASE_APP_PORT
    assert settings["base_url"] == "/services/showcase/apps/3/"
    assert settings["max_kernels"] == config.showcase.viewer_kernels()
    env = {e["name"]: e for e in voila["env"]}
    assert env[settings["listen_env"]]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert voila["ports"] == [
        {"name": "http", "containerPort": L.SHOWCASE_APP_PORT, "protocol": "TCP"}
    ]
    assert voila["command"][:3] == [f"{config.hub.prefix}/venv/bin/python", "-I", "-m"]


def test_app_pod_carries_the_labels_the_network_policy_selects(pod):
    labels = pod["metadata"]["labels"]
    assert labels[L.ROLE_LABEL] == L.SHOWCASE_APP_ROLE
    assert labels["sunaba.jp/showcase-app"] == "3"
    assert labels["sunaba.jp/showcase-version"] == "2"


def test_snapshot_payload_round_trips_and_refuses_escaping_names(scratch):
    source = scratch / "v1"
    (source / "data").mkdir(parents=True)
    (source / "a.ipynb").write_text("{}")
    (source / "data" / "避難所.csv").write_bytes(b"\xef\xbb\xbfa,b\n")
    files = json.loads(snapshot_payload(source))["files"]
    target = scratch / "pod"
    target.mkdir()
    assert write_files(target, files) == 2
    assert (target / "data" / "避難所.csv").read_bytes() == b"\xef\xbb\xbfa,b\n"
    for bad in ("../x", "/etc/x", "a/../../x", "a\\b", "", "a//b"):
        assert safe_relative(bad) is None, bad
        with pytest.raises(ValueError):
            write_files(target, {bad: ""})
    assert not (scratch / "x").exists()


# -- the chart ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chart(config):
    reference = find_chart_reference()
    assert reference is not None, "the chart schema must be at ../shared/reference/z2jh"
    files = {f.path: f.text for f in render_k8s(config, reference)}
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    validate_values(values, reference)
    policies = [
        doc
        for path, text in files.items()
        if path.startswith("templates/")
        for doc in yaml.safe_load_all(text)
        if doc and doc["kind"] == "NetworkPolicy"
    ]
    again = {f.path: f.text for f in render_k8s(config, reference)}
    return SimpleNamespace(
        files=files,
        again=again,
        values=values,
        policies=policies + chart_network_policies(values),
    )


def test_render_is_deterministic_and_has_the_showcase_objects(chart):
    assert chart.again == chart.files
    objects = list(yaml.safe_load_all(chart.files["templates/sunaba-showcase.yaml"]))
    kinds = sorted(o["kind"] for o in objects if o)
    assert kinds == ["NetworkPolicy", "Role", "RoleBinding"]


def test_rbac_role_grants_exactly_what_the_pod_backend_calls():
    role, binding = showcase_rbac()
    granted = {
        resource: tuple(sorted(rule["verbs"]))
        for rule in role["rules"]
        for resource in rule["resources"]
    }
    assert granted == {k: tuple(sorted(v)) for k, v in API_PERMISSIONS.items()}
    assert all(rule["apiGroups"] == [""] for rule in role["rules"])
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "hub"}]


def endpoints(chart, pod):
    return SimpleNamespace(
        app=Endpoint(pod["metadata"]["labels"]),
        other_app=Endpoint({**pod["metadata"]["labels"], "sunaba.jp/showcase-app": "4"}),
        hub=Endpoint(HUB_POD_LABELS),
        proxy=Endpoint({**PROXY_POD_LABELS, "hub.jupyter.org/network-access-hub": "true"}),
        learner=Endpoint(
            {"component": "singleuser-server", **chart.values["singleuser"]["extraLabels"]}
        ),
        database=Endpoint({"app.kubernetes.io/name": L.POSTGRES_NAME}),
        dns=Endpoint({"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"}),
        internet=Endpoint(ip="93.184.216.34", is_pod=False),
        metadata=Endpoint(ip="169.254.169.254", is_pod=False),
    )


def test_only_the_hub_pod_reaches_an_app_pod(chart, pod):
    e, nps = endpoints(chart, pod), chart.policies
    assert allowed(nps, e.hub, e.app, L.SHOWCASE_APP_PORT)
    for source in (e.proxy, e.learner, e.other_app, e.database):
        assert not allowed(nps, source, e.app, L.SHOWCASE_APP_PORT), source
    assert not allowed(nps, e.hub, e.app, 22)


def test_an_app_pod_reaches_nothing(chart, pod):
    e, nps = endpoints(chart, pod), chart.policies
    for target, port in (
        (e.internet, 443),
        (e.metadata, 80),
        (e.database, 5432),
        (e.learner, L.LEARNER_PORT),
        (e.hub, L.HUB_PORT),
        (e.hub, SHOWCASE_PORT),
        (e.proxy, L.PROXY_HTTP_PORT),
        (e.other_app, L.SHOWCASE_APP_PORT),
        (e.dns, 53),
    ):
        assert not allowed(nps, e.app, target, port), (target, port)
    assert not allowed(nps, e.app, e.dns, 53, "UDP")


def test_viewers_come_through_the_proxy_not_from_learners_pods(chart, pod):
    e, nps = endpoints(chart, pod), chart.policies
    assert allowed(nps, e.proxy, e.hub, SHOWCASE_PORT)
    # Learners open apps in the browser, through the proxy: their pods never call the showcase.
    assert not allowed(nps, e.learner, e.hub, SHOWCASE_PORT)


def test_without_the_hubs_egress_rule_the_chart_would_keep_apps_unreachable(chart, pod):
    # The allow above can fail: the chart's hub policy alone lets the hub reach no app pod.
    hub = {**chart.values["hub"]}
    hub["networkPolicy"] = {
        **hub["networkPolicy"],
        "egress": [
            rule for rule in hub["networkPolicy"]["egress"] if L.ROLE_LABEL not in json.dumps(rule)
        ],
    }
    nps = [p for p in chart.policies if p["metadata"]["name"].startswith("sunaba")]
    nps += chart_network_policies({**chart.values, "hub": hub})
    e = endpoints(chart, pod)
    assert not allowed(nps, e.hub, e.app, L.SHOWCASE_APP_PORT)


def test_showcase_off_renders_no_showcase_objects():
    config = validate({**SITE, "showcase": {"enabled": False}}, "test")
    files = {f.path: f.text for f in render_k8s(config, find_chart_reference())}
    assert "templates/sunaba-showcase.yaml" not in files
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    assert L.SHOWCASE_APP_ROLE not in json.dumps(values["hub"].get("networkPolicy", {}))


# -- the service in the hub pod ---------------------------------------------------------------


def test_the_hub_pod_runs_the_showcase_in_kubernetes_mode(config):
    facts = SimpleNamespace(sandbox_mode="kubernetes", python="/opt/sunaba/venv/bin/python")
    [service] = showcase_hub.services(config, facts)
    assert service["environment"]["SUNABA_SHOWCASE_MODE"] == "kubernetes"
    assert service["command"][-1] == "sunaba.showcase.service"
    facts_without_sandbox = SimpleNamespace(sandbox_mode="none", python="python")
    assert showcase_hub.services(config, facts_without_sandbox) == []


def test_on_kubernetes_apps_run_in_pods_and_notebooks_need_the_authors_own_token(scratch):
    config = validate({"hub": {"state_dir": str(scratch)}}, "test")
    showcase = Showcase(
        config,
        "kubernetes",
        service_prefix="/services/showcase/",
        service_url="http://127.0.0.1:1",
        hub=None,
        sessions=None,
        sockets=SocketDirectory(),
    )
    assert isinstance(showcase.runner, PodAppRunner)
    # The author's home is not on this machine: without their own token nothing is read.
    with pytest.raises(ShowcaseError) as refused:
        asyncio.run(showcase.notebooks(Viewer(name="alice"), token=None))
    assert refused.value.status == 403 and "ログイン" in refused.value.message
    one_machine = Showcase(
        config,
        "bubblewrap",
        service_prefix="/services/showcase/",
        service_url="http://127.0.0.1:1",
        hub=None,
        sessions=None,
        sockets=SocketDirectory(),
    )
    assert isinstance(one_machine.runner, AppRunner)
