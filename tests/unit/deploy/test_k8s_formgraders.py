"""Kubernetes: a course's formgrader runs as a locked-down pod of its own, reached only through
the proxy, reaching only the hub and the exchange.

No cluster runs here. The chart is rendered from the site config and its values validated
against the Zero to JupyterHub chart's real schema; the formgrader's objects are built by the
same functions the sync uses, from the site config embedded in the values (the one the hub pod
loads); the NetworkPolicies are Sunaba's rendered ones together with the chart's own hub and
proxy policies built from the rendered values (tests/support/deploy/z2jh.py), read with the
NetworkPolicy API's rules.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from sunaba.config.loader import validate
from sunaba.core.layout import CoursePaths
from sunaba.deploy import k8s_formgraders as F
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_policies import formgrader_policy
from sunaba.deploy.k8s_rbac import formgrader_rbac
from sunaba.deploy.k8s_schema import find_chart_reference, validate_values
from tests.support.deploy.netpol import Endpoint, allowed
from tests.support.deploy.z2jh import HUB_POD_LABELS, PROXY_POD_LABELS, chart_network_policies

SITE = {"deploy": {"server_name": "sunaba.pref.example.jp"}}
TOKEN = "0" * 64
HUB_API, CHECKS, SHOWCASE, EXCHANGE = 8081, 8090, 8091, 8100


@pytest.fixture(scope="module")
def chart():
    reference = find_chart_reference()
    assert reference is not None, "the chart schema must be at ../shared/reference/z2jh"
    files = {f.path: f.text for f in render_k8s(validate(SITE, "test"), reference)}
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    validate_values(values, reference)
    objects = [
        doc
        for path, text in files.items()
        if path.startswith("templates/")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    text = values["hub"]["extraFiles"]["sunaba-site-config"]["stringData"]
    pod_config = validate(yaml.safe_load(text), "values.yaml")
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    return SimpleNamespace(
        values=values,
        objects=objects,
        pod_config=pod_config,
        policies=policies + chart_network_policies(values),
    )


def objects_of(config, course_id="kiso"):
    return {o["kind"]: o for o in F.formgrader_objects(config, course_id, TOKEN)}


def test_formgrader_pod_is_locked_down_like_a_learners(chart):
    spec = objects_of(chart.pod_config)["Deployment"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == L.LEARNER_UID == 1000
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert not context.get("privileged")
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False
    assert container["image"] == chart.values["singleuser"]["image"]["name"] + ":" + str(
        chart.values["singleuser"]["image"]["tag"]
    )
    assert container["command"] == ["/opt/sunaba/venv/bin/jupyterhub-singleuser"]


def test_formgrader_mounts_only_its_course_directory(chart):
    config = chart.pod_config
    spec = objects_of(config)["Deployment"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    root = str(CoursePaths.of(config, "kiso").root)
    assert root == f"{L.COURSES_MOUNT}/kiso"
    course = mounts[root]
    assert course["subPath"] == "kiso" and not course.get("readOnly")
    assert volumes[course["name"]]["persistentVolumeClaim"]["claimName"] == L.COURSES_CLAIM
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert set(mounts) == {root, "/tmp"}
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in spec["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {L.COURSES_CLAIM}  # not the hub's state, not the shared volume
    env = {e["name"]: e for e in container["env"]}
    assert env["HOME"]["value"] == container["workingDir"] == root


def test_the_token_comes_from_the_secret_never_inline(chart):
    objects = objects_of(chart.pod_config)
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": objects["Secret"]["metadata"]["name"], "key": F.TOKEN_KEY}
    assert objects["Secret"]["stringData"] == {F.TOKEN_KEY: TOKEN}
    assert TOKEN not in yaml.safe_dump(objects["Deployment"])
    assert TOKEN not in yaml.safe_dump(objects["Service"])


def test_formgrader_is_the_hub_service_it_is_registered_as(chart):
    config = chart.pod_config
    objects = objects_of(config)
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    spec = F.hub_service_spec(config, "kiso", TOKEN)
    assert spec["name"] == env["JUPYTERHUB_SERVICE_NAME"] == "formgrader-kiso"
    assert spec["oauth_client_id"] == env["JUPYTERHUB_CLIENT_ID"] == "service-formgrader-kiso"
    assert spec["oauth_redirect_uri"] == env["JUPYTERHUB_OAUTH_CALLBACK_URL"]
    assert spec["oauth_redirect_uri"] == "/services/formgrader-kiso/oauth_callback"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/services/formgrader-kiso/"
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/formgrader"
    assert spec["api_token"] == TOKEN and "command" not in spec  # external: the hub runs nothing
    service = objects["Service"]
    assert spec["url"] == f"http://{service['metadata']['name']}:{L.FORMGRADER_PORT}"
    labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert objects["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # Another course's Service never selects this course's pod.
    other = objects_of(config, "oyo")["Service"]["spec"]["selector"]
    assert not other.items() <= labels.items()


def test_network_policy_selects_the_formgrader_pods(chart):
    labels = objects_of(chart.pod_config)["Deployment"]["spec"]["template"]["metadata"]["labels"]
    (rendered,) = [o for o in chart.policies if o["metadata"]["name"] == "sunaba-formgraders"]
    assert rendered == formgrader_policy(validate(SITE, "test"))
    assert rendered["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(rendered["spec"]["policyTypes"]) == {"Ingress", "Egress"}


def _endpoints(chart):
    def pod_labels(course_id):
        deployment = objects_of(chart.pod_config, course_id)["Deployment"]
        return deployment["spec"]["template"]["metadata"]["labels"]

    learner = chart.values["singleuser"]["extraLabels"] | {"component": "singleuser-server"}
    return SimpleNamespace(
        formgrader=Endpoint(pod_labels("kiso")),
        other_formgrader=Endpoint(pod_labels("oyo")),
        hub=Endpoint(HUB_POD_LABELS),
        proxy=Endpoint(PROXY_POD_LABELS),
        learner=Endpoint(learner),
        postgres=Endpoint({"app.kubernetes.io/name": L.POSTGRES_NAME}),
        dns=Endpoint({"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"}),
        internet=Endpoint(ip="93.184.216.34", is_pod=False),
        metadata=Endpoint(ip="169.254.169.254", is_pod=False),
    )


def test_only_the_proxy_and_the_hub_reach_a_formgrader(chart):
    e, nps = _endpoints(chart), chart.policies
    assert allowed(nps, e.proxy, e.formgrader, L.FORMGRADER_PORT)
    assert allowed(nps, e.hub, e.formgrader, L.FORMGRADER_PORT)
    assert not allowed(nps, e.learner, e.formgrader, L.FORMGRADER_PORT)
    assert not allowed(nps, e.other_formgrader, e.formgrader, L.FORMGRADER_PORT)
    assert not allowed(nps, e.proxy, e.formgrader, 22)
    assert not allowed(nps, Endpoint({"app": "elsewhere"}), e.formgrader, L.FORMGRADER_PORT)


def test_a_formgrader_reaches_the_hub_api_the_exchange_and_dns_only(chart):
    e, nps = _endpoints(chart), chart.policies
    assert allowed(nps, e.formgrader, e.hub, HUB_API)
    assert allowed(nps, e.formgrader, e.hub, EXCHANGE)
    assert allowed(nps, e.formgrader, e.dns, 53, "UDP")
    for port in (CHECKS, SHOWCASE, 8001, *range(EXCHANGE + 1, EXCHANGE + 11)):
        assert not allowed(nps, e.formgrader, e.hub, port), port
    assert not allowed(nps, e.formgrader, e.proxy, 8001)  # the proxy's API
    assert not allowed(nps, e.formgrader, e.learner, L.LEARNER_PORT)
    assert not allowed(nps, e.formgrader, e.other_formgrader, L.FORMGRADER_PORT)
    assert not allowed(nps, e.formgrader, e.postgres, L.POSTGRES_PORT)
    assert not allowed(nps, e.formgrader, e.internet, 443)
    assert not allowed(nps, e.formgrader, e.metadata, 80)


def test_course_directories_are_never_mounted_in_learner_or_grading_pods(chart):
    singleuser = chart.values["singleuser"]["storage"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in singleuser["extraVolumes"]
              if "persistentVolumeClaim" in v]  # fmt: skip
    assert L.COURSES_CLAIM not in claims
    shared_mounts = [m["mountPath"] for m in singleuser["extraVolumeMounts"]]
    assert not [p for p in shared_mounts if p.startswith(L.COURSES_MOUNT)]
    assert all(
        m.get("readOnly") for m in singleuser["extraVolumeMounts"] if m["mountPath"] != "/tmp"
    )
    (grader,) = [o for o in chart.objects if o["kind"] == "PodTemplate"]
    grader_claims = [v["persistentVolumeClaim"]["claimName"]
                     for v in grader["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v]  # fmt: skip
    assert L.COURSES_CLAIM not in grader_claims
    # The hub pod has the course directories where its site config says they are.
    hub = chart.values["hub"]
    assert {"name": "sunaba-courses", "mountPath": L.COURSES_MOUNT} in hub["extraVolumeMounts"]
    assert chart.pod_config.courses.grading_dir == L.COURSES_MOUNT
    # The course files come from the checkout in the hub image, wherever the sync is started.
    assert chart.pod_config.courses.directory == f"{L.HUB_SOURCE_DIR}/courses"
    assert chart.pod_config.courses.exercises == f"{L.HUB_SOURCE_DIR}/exercises"
    (claim,) = [o for o in chart.objects if o["metadata"]["name"] == L.COURSES_CLAIM]
    assert claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_rbac_grants_exactly_what_the_sync_calls(chart):
    role, binding = formgrader_rbac()
    rendered = [o for o in chart.objects if o["metadata"]["name"] == "sunaba-formgraders"
                and o["kind"] in ("Role", "RoleBinding")]  # fmt: skip
    assert rendered == [role, binding]
    grants = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
              for r in rule["resources"] for v in rule["verbs"]}  # fmt: skip
    expected = {(g, r, v) for (g, r), verbs in F.API_PERMISSIONS.items() for v in verbs}
    assert grants == expected
    assert not [
        rule for rule in role["rules"] if "pods" in rule["resources"] or "*" in rule["verbs"]
    ]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "hub"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_rendering_stays_deterministic():
    config = validate(SITE, "test")
    first = {f.path: f.text for f in render_k8s(config, None)}
    second = {f.path: f.text for f in render_k8s(config, None)}
    assert first == second
    assert "templates/sunaba-formgrader-rbac.yaml" in first
