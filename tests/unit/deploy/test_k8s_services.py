"""Kubernetes: Sunaba's hub services are reachable from the proxy and learners' pods.

No cluster runs here. The chart is rendered and its values validated against the Zero to
JupyterHub chart's real schema; the hub pod's service entries come from the same `apply_k8s`
the hub pod runs, applied to a fresh traitlets Config with the site config embedded in the
values; the NetworkPolicies are Sunaba's rendered ones together with the chart's own hub and
proxy policies built from the rendered values (tests/support/deploy/z2jh.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import yaml
from traitlets.config import Config

from sunaba.config.loader import validate
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_hub import apply_k8s
from sunaba.deploy.k8s_schema import find_chart_reference, validate_values
from sunaba.deploy.k8s_services import ServicePortError, services_in_cluster
from sunaba.hub.apply import HubFacts, update_services
from sunaba.hub.ports import LISTEN_ENV, listen_address
from tests.support.deploy.netpol import Endpoint, allowed
from tests.support.deploy.z2jh import HUB_POD_LABELS, PROXY_POD_LABELS, chart_network_policies

SITE = {"deploy": {"server_name": "sunaba.pref.example.jp"}}
CHECKS, SHOWCASE, ROSTER, EXCHANGE = 8090, 8091, 8092, 8100
FORMGRADERS = list(range(8101, 8111))


@pytest.fixture(scope="module")
def chart():
    reference = find_chart_reference()
    assert reference is not None, "the chart schema must be at ../shared/reference/z2jh"
    files = {f.path: f.text for f in render_k8s(validate(SITE, "test"), reference)}
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    validate_values(values, reference)  # what Helm checks first
    policies = [
        doc for doc in yaml.safe_load_all(files["templates/sunaba-networkpolicies.yaml"]) if doc
    ]
    return SimpleNamespace(values=values, policies=policies + chart_network_policies(values))


def pod_site_config(values):
    text = values["hub"]["extraFiles"]["sunaba-site-config"]["stringData"]
    return validate(yaml.safe_load(text), "values.yaml")


def pod_services(values) -> dict[str, dict]:
    """Service entries as `apply_in_hub` sets them in the hub pod."""
    c = Config()
    facts = HubFacts(
        sandbox_mode="kubernetes", hub_config_dir=Path(L.HUB_SOURCE_DIR) / "hub_config"
    )
    apply_k8s(pod_site_config(values), c, facts)
    return {spec["name"]: spec for spec in c.JupyterHub.services}


def test_hub_pod_announces_services_under_the_hub_service_on_fixed_ports(chart):
    services = pod_services(chart.values)
    with_url = {name: spec for name, spec in services.items() if spec.get("url")}
    assert {name: spec["url"] for name, spec in with_url.items()} == {
        "sunaba-checks": f"http://hub:{CHECKS}",
        "showcase": f"http://hub:{SHOWCASE}",
        "roster": f"http://hub:{ROSTER}",
        "sunaba-exchange": f"http://hub:{EXCHANGE}",
    }
    for spec in with_url.values():
        assert spec["environment"][LISTEN_ENV] == "0.0.0.0"  # noqa: S104 (expected, not bound)
    # The same site config gives the same entries: nothing is picked when the hub starts.
    assert pod_services(chart.values) == services


def test_hub_service_exposes_every_service_port(chart):
    extra = chart.values["hub"]["service"]["extraPorts"]
    assert [p["port"] for p in extra] == [CHECKS, SHOWCASE, ROSTER, EXCHANGE, *FORMGRADERS]
    assert all(p["targetPort"] == p["port"] for p in extra)
    names = [p["name"] for p in extra]
    assert len(set(names)) == len(names) and all(len(n) <= 15 for n in names)
    for spec in pod_services(chart.values).values():
        if spec.get("url"):
            assert urlsplit(spec["url"]).port in {p["port"] for p in extra}


def _pods(chart):
    return SimpleNamespace(
        learner=Endpoint(
            {"component": "singleuser-server", **chart.values["singleuser"]["extraLabels"]}
        ),
        hub=Endpoint(HUB_POD_LABELS),
        proxy=Endpoint({**PROXY_POD_LABELS, "hub.jupyter.org/network-access-hub": "true"}),
        other=Endpoint({"app": "something-else"}),
    )


def test_learners_reach_the_services_they_call_and_nothing_else_on_the_hub(chart):
    pods, nps = _pods(chart), chart.policies
    for port in (L.HUB_PORT, CHECKS, EXCHANGE):
        assert allowed(nps, pods.learner, pods.hub, port), port
    # Formgraders are staff pages, the showcase and the roster page a browser's pages, reached
    # through the proxy.
    for port in (*FORMGRADERS, 22, 5432, SHOWCASE, ROSTER):
        assert not allowed(nps, pods.learner, pods.hub, port), port
    assert not allowed(nps, pods.other, pods.hub, CHECKS)


def test_proxy_and_hub_pod_reach_every_service(chart):
    pods, nps = _pods(chart), chart.policies
    for port in (CHECKS, SHOWCASE, ROSTER, EXCHANGE, *FORMGRADERS):
        assert allowed(nps, pods.proxy, pods.hub, port), port
        # Formgraders call the exchange, and the hub checks its services, through the Service.
        assert allowed(nps, pods.hub, pods.hub, port), port
    assert not allowed(nps, pods.proxy, pods.hub, 9999)


def test_without_sunabas_rules_the_chart_would_keep_them_out(chart):
    # The check above can fail: the chart alone opens the hub pod on 8081 only.
    bare = {**chart.values, "hub": {**chart.values["hub"], "networkPolicy": {}}, "proxy": {}}
    nps = [p for p in chart.policies if p["metadata"]["name"].startswith("sunaba")]
    nps += chart_network_policies(bare)
    pods = _pods(chart)
    assert allowed(nps, pods.learner, pods.hub, L.HUB_PORT)
    assert not allowed(nps, pods.learner, pods.hub, CHECKS)
    assert not allowed(nps, pods.proxy, pods.hub, EXCHANGE)


def formgrader(course: str, port: int) -> dict:
    return {
        "name": f"formgrader-{course}",
        "url": f"http://127.0.0.1:{port}",
        "command": ["/opt/sunaba/venv/bin/jupyterhub-singleuser"],
        "environment": {"JUPYTERHUB_DEFAULT_URL": "/formgrader"},
    }


def test_formgraders_use_the_kept_ports_and_listen_on_the_pod(chart):
    config = pod_site_config(chart.values)
    specs = [formgrader(f"c{i}", port) for i, port in enumerate(FORMGRADERS)]
    found = services_in_cluster(specs, config)
    assert [s["url"] for s in found] == [f"http://hub:{p}" for p in FORMGRADERS]
    # jupyterhub-singleuser takes its address from its URL unless told otherwise.
    assert all(s["command"][-1] == "--ip=0.0.0.0" for s in found)
    with pytest.raises(ServicePortError, match=r"formgrader-c10.*8111.*formgrader_ports"):
        services_in_cluster([*specs, formgrader("c10", FORMGRADERS[-1] + 1)], config)


def test_one_machine_keeps_loopback(tmp_path):
    config = validate({"hub": {"state_dir": str(tmp_path / "state")}}, "test")
    c = Config()
    update_services(c, config, HubFacts(sandbox_mode="full", hub_config_dir=tmp_path))
    with_url = [spec for spec in c.JupyterHub.services if spec.get("url")]
    assert with_url
    for spec in with_url:
        assert urlsplit(spec["url"]).hostname == "127.0.0.1", spec["name"]
        assert LISTEN_ENV not in spec.get("environment", {})
    assert listen_address("http://127.0.0.1:20001")[0] == "127.0.0.1"


LISTENER = """
import socket, sys
from sunaba.hub.ports import listen_address
host, port = listen_address(sys.argv[1])
with socket.create_server((host, port)) as server:
    print(server.getsockname()[0], flush=True)
"""


def test_a_service_binds_where_the_hub_says(tmp_path):
    # `hub` is the Service's name, not an address of this machine: a service that bound the
    # host of its URL could not start in the pod. (The pod's 0.0.0.0 is stood in for by
    # another loopback address: tests listen on loopback only.)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop(LISTEN_ENV, None)
    url = f"http://127.0.0.1:{port}"
    local = subprocess.run([sys.executable, "-c", LISTENER, url], env=env, capture_output=True)
    assert local.stdout.decode().strip() == "127.0.0.1", local.stderr.decode()
    env[LISTEN_ENV] = "127.0.0.2"
    pod = subprocess.run(
        [sys.executable, "-c", LISTENER, f"http://hub:{port}"], env=env, capture_output=True
    )
    assert pod.stdout.decode().strip() == "127.0.0.2", pod.stderr.decode()


def test_admins_own_services_and_roles_in_the_chart_are_kept(chart):
    """z2jh puts `hub.services` and `hub.loadRoles` into `c` before `hub.extraConfig` runs."""
    c = Config()
    c.JupyterHub.services = [{"name": "grafana-export", "api_token": "from-the-chart"}]
    c.JupyterHub.load_roles = [
        {"name": "grafana-export", "scopes": ["read:metrics"], "services": ["grafana-export"]}
    ]
    facts = HubFacts(
        sandbox_mode="kubernetes", hub_config_dir=Path(L.HUB_SOURCE_DIR) / "hub_config"
    )
    apply_k8s(pod_site_config(chart.values), c, facts)
    services = {spec["name"]: spec for spec in c.JupyterHub.services}
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert services["grafana-export"] == {"name": "grafana-export", "api_token": "from-the-chart"}
    assert roles["grafana-export"]["scopes"] == ["read:metrics"]
    assert set(pod_services(chart.values)) <= set(services)  # Sunaba's own are all still there
    assert len(services) == len(c.JupyterHub.services)  # no name twice
