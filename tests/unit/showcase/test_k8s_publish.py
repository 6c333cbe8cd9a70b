"""Publishing on Kubernetes: the check pod's manifest, the in-pod check program, the names the
snapshot may hold, and the OAuth scopes that let the showcase open an author's own server.

No cluster runs here: the manifests are read as built, and the in-pod program runs as a local
process from the test runtime. Publishing end to end (a real jupyter-server as the author's
server, a fake Kubernetes API as the cluster) is in
tests/integration/showcase/test_showcase_k8s_publish.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from types import SimpleNamespace

import pytest
import yaml

from sunaba.config.loader import validate
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s import render_k8s
from sunaba.deploy.k8s_policies import showcase_app_policy
from sunaba.deploy.k8s_schema import find_chart_reference, validate_values
from sunaba.showcase import hub as showcase_hub
from sunaba.showcase.author_server import (
    Refused,
    checked_notebook_path,
    epoch_seconds,
    inside_folder,
    leaves_home,
)
from sunaba.showcase.k8s_check import CHECK_CONTAINER, CHECK_LABEL, check_pod, last_result
from sunaba.showcase.k8s_pods import APP_LABEL, SNAPSHOT_DIR
from tests.support.showcase import notebook


@pytest.fixture(scope="module")
def config():
    return validate({"showcase": {"memory_limit": "1G", "cell_timeout": 20}}, "test")


def test_the_check_pod_is_an_app_pod_without_network_and_with_a_deadline(config):
    manifest = check_pod(config, "sunaba-check-7-ab", 7, budget=100, start=300)
    labels = manifest["metadata"]["labels"]
    policy = showcase_app_policy()["spec"]
    # Selected by the apps' NetworkPolicy, which allows no traffic out at all.
    assert all(labels.get(k) == v for k, v in policy["podSelector"]["matchLabels"].items())
    assert "Egress" in policy["policyTypes"] and not policy.get("egress")
    # Not one of the app's serving pods: retiring or purging the app's pods never picks it.
    assert APP_LABEL not in labels and labels[CHECK_LABEL] == "7"
    spec = manifest["spec"]
    assert spec["activeDeadlineSeconds"] == 300 + 100 + 120
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    [container] = spec["containers"]
    assert container["name"] == CHECK_CONTAINER and container["stdin"] and container["stdinOnce"]
    assert container["command"][-2:] == ["sunaba.showcase.sandboxed.check_in_pod", SNAPSHOT_DIR]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"] == str(1 << 30)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert L.ROLE_LABEL in labels


def test_the_result_is_the_last_line_whatever_the_notebook_wrote_before():
    forged = b'{"ok": true}\n'
    real = b'{"ok": false, "kind": "error", "number": 1}\n'
    assert last_result(forged + real)["ok"] is False
    assert last_result(b"noise\n") is None
    assert last_result(b"") is None


def run_check_in_pod(line: bytes) -> dict:
    with tempfile.TemporaryDirectory(prefix="sunaba-check-test-") as folder:
        process = subprocess.run(
            [sys.executable, "-m", "sunaba.showcase.sandboxed.check_in_pod", folder],
            input=line,
            capture_output=True,
            timeout=120,
            cwd=folder,
        )
    return json.loads(process.stdout.decode().strip().splitlines()[-1])


def job(files: dict[str, str], name: str = "app.ipynb") -> bytes:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in files.items()}
    return (json.dumps({"files": encoded, "notebook": name, "timeout": 20}) + "\n").encode()


def test_the_in_pod_check_runs_the_snapshot_with_its_files():
    source = notebook("print(open('data/a.csv').read())")
    assert run_check_in_pod(job({"app.ipynb": source, "data/a.csv": "x,y\n"}))["ok"] is True
    failed = run_check_in_pod(job({"app.ipynb": notebook("1 / 0")}))
    assert failed["ok"] is False and failed["ename"] == "ZeroDivisionError"
    refused = run_check_in_pod(job({"../escape.ipynb": source}, "../escape.ipynb"))
    assert refused["ok"] is False and refused["kind"] == "invalid"


@pytest.mark.parametrize(
    "name", ["", "/etc/x.ipynb", "../x.ipynb", "a/../../x.ipynb", "a\\b.ipynb", "x\x00.ipynb"]
)
def test_notebook_paths_that_could_leave_the_home_are_refused(name):
    with pytest.raises(Refused) as refused:
        checked_notebook_path(name)
    assert refused.value.code == "bad_path"


def test_named_files_stay_inside_the_notebooks_folder():
    assert inside_folder("work", "data/a.csv") == "work/data/a.csv"
    assert inside_folder("work", "./data/../a.csv") == "work/a.csv"
    assert inside_folder("", "a.csv") == "a.csv"
    for name in ("../a.csv", "data/../../a.csv", ".", "/etc/passwd"):
        assert inside_folder("work", name) is None, name
    assert inside_folder("", "../a.csv") is None
    assert leaves_home("work", "../../etc/passwd") and not leaves_home("work", "../a.csv")


def test_listing_times_are_read_from_the_contents_api():
    assert epoch_seconds("2026-01-02T03:04:05.123456Z") == 1767323045
    assert epoch_seconds(None) == 0


def test_only_on_kubernetes_may_the_showcases_tokens_open_the_authors_own_server():
    config = validate({}, "test")
    k8s = SimpleNamespace(sandbox_mode="kubernetes", python="python")
    [service] = showcase_hub.services(config, k8s)
    assert service["oauth_client_allowed_scopes"] == ["read:servers!user", "access:servers!user"]
    one_machine = SimpleNamespace(sandbox_mode="bubblewrap", python="python")
    [service] = showcase_hub.services(config, one_machine)
    assert "oauth_client_allowed_scopes" not in service


def test_the_hub_pod_reaches_authors_servers_through_the_proxy_and_nothing_more():
    from tests.support.deploy.netpol import Endpoint, allowed
    from tests.support.deploy.z2jh import HUB_POD_LABELS, PROXY_POD_LABELS, chart_network_policies

    config = validate({"deploy": {"server_name": "sunaba.pref.example.jp"}}, "test")
    reference = find_chart_reference()
    assert reference is not None, "the chart schema must be at ../shared/reference/z2jh"
    files = {f.path: f.text for f in render_k8s(config, reference)}
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    validate_values(values, reference)
    policies = chart_network_policies(values)
    hub, proxy = Endpoint(HUB_POD_LABELS), Endpoint(PROXY_POD_LABELS)
    assert allowed(policies, hub, proxy, L.PROXY_HTTP_PORT)
    assert not allowed(policies, hub, proxy, 22)
    without = validate({**{"showcase": {"enabled": False}}}, "test")
    files = {f.path: f.text for f in render_k8s(without, reference)}
    values = yaml.safe_load(files["values.yaml"])["jupyterhub"]
    assert not allowed(chart_network_policies(values), hub, proxy, L.PROXY_HTTP_PORT)
