"""Kubernetes: pods built by a real KubeSpawner from the rendered chart, and the NetworkPolicies.

No cluster runs here. The rendered values are turned into KubeSpawner traits the way the Zero to
JupyterHub chart's hub config does (tests/support/deploy/z2jh.py), Sunaba's own traits are added
by the same `apply_k8s` the hub pod runs (reading the site config embedded in the values), and
`KubeSpawner.get_pod_manifest()` builds the pod a cluster would get. The NetworkPolicies are
checked by reading the rendered manifests with the NetworkPolicy API's rules.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from kubernetes_asyncio.client import ApiClient
from kubespawner import KubeSpawner

from sunaba.config.loader import validate
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_hub import apply_k8s
from sunaba.deploy.k8s_schema import find_chart_reference
from sunaba.hub.apply import HubFacts
from tests.support.deploy.netpol import Endpoint, allowed
from tests.support.deploy.z2jh import chart_config

SITE = {
    "sandbox": {"memory_limit": "1536M", "cpu_limit": 1.5},
    "deploy": {
        "server_name": "sunaba.city.example.jp",
        "k8s": {"memory_guarantee": "768M", "cpu_guarantee": 0.5, "home_size": "5Gi"},
    },
}


@pytest.fixture(scope="module", autouse=True)
def kubeconfig(tmp_path_factory):
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "none", "user": {"token": "unused"}}],
                "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
                "current-context": "none",
            }
        )
    )
    import kubernetes_asyncio.config.kube_config as kube_config

    with pytest.MonkeyPatch.context() as patch:
        # Read once at import from $KUBECONFIG; point it at this file for the module.
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
        yield path


@pytest.fixture(scope="module")
def chart():
    reference = find_chart_reference()
    assert reference is not None, "the chart schema must be at ../shared/reference/z2jh"
    files = {f.path: f.text for f in render_k8s(validate(SITE, "test"), reference)}
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    objects = [
        doc
        for path, text in files.items()
        if path.startswith("templates/")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return SimpleNamespace(values=values, objects=objects)


def embedded_site_config(values):
    text = values["hub"]["extraFiles"]["sunaba-site-config"]["stringData"]
    return validate(yaml.safe_load(text), "values.yaml")


def learner_pod(values, name="tanaka") -> dict:
    c = chart_config(values)
    site = embedded_site_config(values)
    facts = HubFacts(
        sandbox_mode="kubernetes", hub_config_dir=Path(L.HUB_SOURCE_DIR) / "hub_config"
    )
    apply_k8s(site, c, facts)
    user = SimpleNamespace(name=name, id=7, url=f"/user/{name}/", escaped_name=name)

    async def manifest():
        # KubeSpawner loads a client configuration when it is made; nothing is contacted to
        # build a manifest (the kubeconfig fixture names an address where nothing listens).
        spawner = KubeSpawner(config=c, user=user, _mock=True)
        pod = await spawner.get_pod_manifest()
        async with ApiClient() as client:  # serialises only: no cluster is contacted
            return client.sanitize_for_serialization(pod)

    return asyncio.run(manifest())


@pytest.fixture(scope="module")
def pod(chart):
    return learner_pod(chart.values)


def test_limits_and_guarantees_come_from_the_site_config(pod):
    (container,) = pod["spec"]["containers"]
    resources = container["resources"]
    assert resources["limits"] == {"memory": 1536 * 1024**2, "cpu": 1.5}
    assert resources["requests"] == {"memory": 768 * 1024**2, "cpu": 0.5}
    assert container["image"] == "sunaba/singleuser:0.1.0"
    assert container["args"][0] == "/opt/sunaba/venv/bin/jupyterhub-singleuser"


def test_learner_pod_is_the_sandbox(pod):
    spec = pod["spec"]
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == 1000
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert not context.get("privileged")
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    # No privileged helper (the chart's iptables init container) rides along.
    assert not spec.get("initContainers")


def test_learner_volumes_home_writable_shared_read_only(pod):
    spec = pod["spec"]
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    home = mounts["/home/jovyan"]
    assert volumes[home["name"]]["persistentVolumeClaim"]["claimName"] == "claim-tanaka"
    assert not home.get("readOnly")
    datasets = mounts["/opt/sunaba/share/datasets"]
    assert datasets["readOnly"] is True
    assert datasets["subPath"] == "opt/sunaba/share/datasets"
    assert volumes["sunaba-shared"]["persistentVolumeClaim"]["claimName"] == L.SHARED_CLAIM
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    # Everything else a learner can write would be the read-only root filesystem.
    writable = {path for path, m in mounts.items() if not m.get("readOnly")}
    assert writable == {"/home/jovyan", "/tmp"}


def test_learner_environment_holds_no_secret(pod):
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SUNABA_DATASETS_PATH"] == "/opt/sunaba/share/datasets"
    assert env["HOME"] == "/home/jovyan"
    assert not [name for name in env if "PASSWORD" in name or "SECRET" in name]
    assert not [e for e in container["env"] if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
                and e["name"] != "JUPYTERHUB_API_TOKEN"]  # fmt: skip


def _endpoints(chart, pod):
    objects = {(o["kind"], o["metadata"]["name"]): o for o in chart.objects}
    postgres = objects[("StatefulSet", L.POSTGRES_NAME)]["spec"]["template"]["metadata"]["labels"]
    grader = objects[("PodTemplate", L.GRADER_TEMPLATE)]["template"]["metadata"]["labels"]
    other = learner_pod(chart.values, name="suzuki")["metadata"]["labels"]
    # Labels the Zero to JupyterHub chart gives its hub and proxy pods.
    hub = {"component": "hub", "app": "jupyterhub", "hub.jupyter.org/network-access-proxy-api":
           "true", "hub.jupyter.org/network-access-proxy-http": "true",
           "hub.jupyter.org/network-access-singleuser": "true"}  # fmt: skip
    proxy = {"component": "proxy", "app": "jupyterhub", "hub.jupyter.org/network-access-hub":
             "true", "hub.jupyter.org/network-access-singleuser": "true"}  # fmt: skip
    return SimpleNamespace(
        learner=Endpoint(pod["metadata"]["labels"]),
        other_learner=Endpoint(other),
        hub=Endpoint(hub),
        proxy=Endpoint(proxy),
        postgres=Endpoint(postgres),
        grader=Endpoint(grader),
        dns=Endpoint({"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"}),
        internet=Endpoint(ip="93.184.216.34", is_pod=False),
        metadata=Endpoint(ip="169.254.169.254", is_pod=False),
    )


def policies(chart):
    return [o for o in chart.objects if o["kind"] == "NetworkPolicy"]


def test_learners_reach_only_proxy_hub_services_and_dns(chart, pod):
    e, nps = _endpoints(chart, pod), policies(chart)
    assert allowed(nps, e.learner, e.hub, L.HUB_PORT)
    assert allowed(nps, e.learner, e.proxy, L.PROXY_HTTP_PORT)
    assert allowed(nps, e.learner, e.dns, 53, "UDP")
    assert not allowed(nps, e.learner, e.other_learner, L.LEARNER_PORT)
    assert not allowed(nps, e.learner, e.postgres, L.POSTGRES_PORT)
    assert not allowed(nps, e.learner, e.grader, 8888)
    assert not allowed(nps, e.learner, e.hub, 22)
    assert not allowed(nps, e.learner, e.internet, 443)
    assert not allowed(nps, e.learner, e.metadata, 80)


def test_only_proxy_and_hub_reach_a_learner(chart, pod):
    e, nps = _endpoints(chart, pod), policies(chart)
    assert allowed(nps, e.proxy, e.learner, L.LEARNER_PORT)
    assert allowed(nps, e.hub, e.learner, L.LEARNER_PORT)
    assert not allowed(nps, e.other_learner, e.learner, L.LEARNER_PORT)
    assert not allowed(nps, e.grader, e.learner, L.LEARNER_PORT)


def test_graders_have_no_network_and_the_database_only_the_hub(chart, pod):
    e, nps = _endpoints(chart, pod), policies(chart)
    for target in (e.hub, e.proxy, e.dns, e.internet, e.learner):
        assert not allowed(nps, e.grader, target, 53, "UDP")
        assert not allowed(nps, e.grader, target, 443)
    assert not allowed(nps, e.hub, e.grader, 8888)
    assert allowed(nps, e.hub, e.postgres, L.POSTGRES_PORT)
    assert not allowed(nps, e.proxy, e.postgres, L.POSTGRES_PORT)


def test_learner_internet_is_a_choice(chart):
    site = {**SITE, "deploy": {**SITE["deploy"], "k8s": {"learner_internet": True}}}
    files = {f.path: f.text for f in render_k8s(validate(site, "test"), None)}
    nps = list(yaml.safe_load_all(files["templates/sunaba-networkpolicies.yaml"]))
    nps = [n for n in nps if n]
    learner = Endpoint({"component": "singleuser-server"})
    assert allowed(nps, learner, Endpoint(ip="93.184.216.34", is_pod=False), 443)
    assert not allowed(nps, learner, Endpoint(ip="169.254.169.254", is_pod=False), 80)
    assert not allowed(nps, learner, Endpoint(ip="10.0.0.12", is_pod=False), 5432)


def test_grader_template_is_locked_down(chart):
    (template,) = [o for o in chart.objects if o["kind"] == "PodTemplate"]
    spec = template["template"]["spec"]
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] and not context["allowPrivilegeEscalation"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"] == {"memory": str(512 * 1024**2), "cpu": "1.0"}
    assert spec["automountServiceAccountToken"] is False


def test_grader_template_judges_outside_the_learners_container(chart):
    """Two containers: the learner's runs the submission, the judge (another uid) gets the
    graders; they share only the judge's socket volume, read-only on the learner's side."""
    (template,) = [o for o in chart.objects if o["kind"] == "PodTemplate"]
    spec = template["template"]["spec"]
    learner, judge = spec["containers"]
    assert learner["command"][1:] == ["-m", "sunaba.grading.inpod"]
    assert judge["command"][1:] == ["-m", "sunaba.grading.pod_judge"]
    assert judge["image"] == learner["image"]
    assert learner["securityContext"]["runAsUser"] == L.LEARNER_UID
    assert judge["securityContext"]["runAsUser"] not in (L.LEARNER_UID, 0)
    assert judge["stdin"] is True and judge["stdinOnce"] is True  # graders in, verdicts out

    def mounts(container):
        return {m["name"]: m for m in container["volumeMounts"]}

    shared = mounts(learner).keys() & mounts(judge).keys()
    assert shared == {"judge-socket", "sunaba-shared"}
    assert mounts(learner)["judge-socket"]["readOnly"] is True
    assert not mounts(judge)["judge-socket"].get("readOnly")
    assert all(m["readOnly"] for m in judge["volumeMounts"] if m["name"] == "sunaba-shared")
    assert mounts(learner)["tmp"]["mountPath"] == mounts(judge)["judge-tmp"]["mountPath"] == "/tmp"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["judge-socket"] and "emptyDir" in volumes["judge-tmp"]
    env = {c["name"]: {e["name"]: e.get("value") for e in c["env"]} for c in (learner, judge)}
    socket = env["grader"]["SUNABA_JUDGE_SOCKET"]
    assert socket == env["judge"]["SUNABA_JUDGE_SOCKET"]
    assert socket.startswith(mounts(learner)["judge-socket"]["mountPath"] + "/")
    assert env["judge"]["SUNABA_KERNEL_UID"] == str(L.LEARNER_UID)
    assert not any("GRADERS" in name for names in env.values() for name in names)


def test_hub_pod_gets_sunaba_config_and_secrets_by_reference(chart):
    hub = chart.values["hub"]
    site = embedded_site_config(chart.values)
    assert site.hub.state_dir.startswith(L.STATE_MOUNT)
    assert site.records.db_url == site.hub.db_url == hub["db"]["url"]
    assert "apply_in_hub(c)" in hub["extraConfig"]["50-sunaba"]
    mounts = {m["mountPath"]: m for m in hub["extraVolumeMounts"]}
    assert mounts["/opt/sunaba/share/datasets"]["readOnly"] is False
    (postgres,) = [o for o in chart.objects if o["kind"] == "StatefulSet"]
    env = postgres["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "POSTGRES_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "sunaba-db", "key": "password"}}} in env  # fmt: skip
