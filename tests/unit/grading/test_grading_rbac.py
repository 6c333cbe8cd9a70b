"""The chart gives the hub exactly the Kubernetes API access the grading-pod backend uses, and the
hub pod's site config selects that backend. No cluster runs here: the rendered chart is read
(its values validated against the Zero to JupyterHub schema on the way, as `render_k8s` does)."""

from __future__ import annotations

import pytest
import yaml

from sunaba.config.loader import validate
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_rbac import GRADING_ROLE, HUB_SERVICE_ACCOUNT
from sunaba.deploy.k8s_schema import find_chart_reference
from sunaba.grading.pods import API_PERMISSIONS

RBAC_FILE = "templates/sunaba-grading-rbac.yaml"


@pytest.fixture(scope="module")
def files():
    reference = find_chart_reference()
    assert reference is not None, "the chart schema must be at ../shared/reference/z2jh"
    rendered = render_k8s(validate({"deploy": {"server_name": "a.example.jp"}}, "t"), reference)
    return {f.path: f.text for f in rendered}


def objects(text: str) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}


def test_the_role_grants_exactly_what_the_backend_calls(files):
    role = objects(files[RBAC_FILE])["Role"]
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""]  # core pods only: no other group, no wildcard
        assert set(rule) == {"apiGroups", "resources", "verbs"}  # no resourceNames, no URLs
        for resource in rule["resources"]:
            granted.setdefault(resource, set()).update(rule["verbs"])
    assert granted == {resource: set(verbs) for resource, verbs in API_PERMISSIONS.items()}
    assert "*" not in str(role["rules"])


def test_the_binding_gives_the_role_to_the_hub_only(files):
    rendered = objects(files[RBAC_FILE])
    binding = rendered["RoleBinding"]
    assert rendered["Role"]["metadata"]["name"] == GRADING_ROLE
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": GRADING_ROLE,
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT}]
    # Nothing cluster-wide anywhere in Sunaba's templates.
    kinds = {
        doc["kind"] for t in files.values() if "kind:" in t for doc in yaml.safe_load_all(t) if doc
    }
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}


def test_the_hub_pod_grades_with_pods(files):
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    text = values["hub"]["extraFiles"]["sunaba-site-config"]["stringData"]
    assert validate(yaml.safe_load(text), "values.yaml").grading.backend == "kubernetes"
    assert validate({}, "default").grading.backend == "sandbox"
