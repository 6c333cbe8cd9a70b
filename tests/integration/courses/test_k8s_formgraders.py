"""`sunaba courses sync` as it runs in the hub pod on Kubernetes, against a fake API server.

No Kubernetes cluster runs here. `tests.support.fake_kube.FakeKubernetes` is a mock of the
cluster only, on 127.0.0.1: it keeps the Secrets, Services and Deployments it is sent, as the API
server does, and records every request as RBAC names it. The rest is real: the course files,
the nbgrader steps run as this process's own user (as the hub pod's user runs them, no Unix
account made), the exchange store, the records database and the hub's service entries computed
from the site config the way the hub pod computes them.
"""

from __future__ import annotations

import base64
import pwd
import shutil
import stat
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from sunaba.classroom import hub as hooks
from sunaba.classroom.sync import sync_courses
from sunaba.core.layout import CoursePaths, grader_account
from sunaba.deploy import k8s_formgraders as F
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_rbac import formgrader_rbac
from tests.support.fake_kube import FakeKubernetes
from tests.support.k8s_courses import NAMESPACE, add_course, facts_of, site


@pytest.fixture(scope="module")
def cluster(monkeypatch_module):
    data = Path(tempfile.mkdtemp(prefix="sunaba-test-k8s-courses-"))
    try:
        (data / "state").mkdir(mode=0o700)
        add_course(data, "kiso")
        add_course(data, "oyo")
        with FakeKubernetes() as fake:
            monkeypatch_module.setenv("POD_NAMESPACE", NAMESPACE)
            yield SimpleNamespace(data=data, fake=fake)
    finally:
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def sync(cluster, **sandbox):
    config = site(cluster.data, **sandbox)
    report = sync_courses(
        config, use_running_hub=False, kube_configuration=cluster.fake.configuration()
    )
    assert report.ok, report.lines()
    return config, report


def stored(fake, resource, course_id):
    return fake.objects.get((resource, F.object_name(course_id)))


@pytest.fixture(scope="module")
def first_sync(cluster):
    config, report = sync(cluster)
    return SimpleNamespace(config=config, report=report)


def test_sync_makes_no_unix_account_and_a_private_course_directory(cluster, first_sync):
    config = first_sync.config
    for course_id in ("kiso", "oyo"):
        with pytest.raises(KeyError):
            pwd.getpwnam(grader_account(config, course_id))
        root = CoursePaths.of(config, course_id).root
        info = root.stat()
        assert stat.S_IMODE(info.st_mode) == 0o700
        assert info.st_uid == __import__("os").geteuid()  # the hub's own user
        assert (root / "nbgrader_config.json").is_file()
        assert (root / "source" / "hw1" / "problem.ipynb").is_file()
    assert "kiso: コースのフォルダを作りました" in first_sync.report.lines()


def test_sync_creates_the_pod_service_and_secret_of_each_course(cluster, first_sync):
    fake = cluster.fake
    for course_id in ("kiso", "oyo"):
        secret = stored(fake, "secrets", course_id)
        deployment = stored(fake, "deployments", course_id)
        service = stored(fake, "services", course_id)
        assert secret and deployment and service
        assert deployment["metadata"]["namespace"] == NAMESPACE
        token = base64.b64decode(secret["data"][F.TOKEN_KEY]).decode()
        assert deployment["spec"] == F.deployment(first_sync.config, course_id, token)["spec"]
        assert service["spec"]["selector"] == F.selector(course_id)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        root = str(CoursePaths.of(first_sync.config, course_id).root)
        assert mounts[root]["subPath"] == course_id
        assert f"{course_id}: 採点画面のポッドを作りました" in first_sync.report.lines()
    kiso = stored(fake, "deployments", "kiso")["spec"]["template"]["metadata"]["labels"]
    assert kiso[L.ROLE_LABEL] == L.FORMGRADER_ROLE and kiso[L.COURSE_LABEL] == "kiso"


def test_the_hub_registers_each_formgrader_as_an_external_service(cluster, first_sync):
    config, fake = first_sync.config, cluster.fake
    specs = {s["name"]: s for s in hooks.services(config, facts_of(config))}
    assert set(specs) == {"sunaba-exchange", "formgrader-kiso", "formgrader-oyo"}
    kiso = specs["formgrader-kiso"]
    assert "command" not in kiso and "user" not in kiso  # nothing runs in the hub pod
    assert kiso["url"] == "http://sunaba-formgrader-kiso:8888"
    token = base64.b64decode(stored(fake, "secrets", "kiso")["data"][F.TOKEN_KEY]).decode()
    assert kiso["api_token"] == token and len(token) == 64
    assert specs["formgrader-oyo"]["api_token"] != token
    roles = {r["name"]: r for r in hooks.roles(config, facts_of(config))}
    assert roles["formgrader-kiso-users"]["groups"] == ["formgrade-kiso"]
    assert roles["formgrader-kiso"]["services"] == ["formgrader-kiso"]


def test_a_second_sync_changes_nothing(cluster, first_sync):
    fake = cluster.fake
    before = len(fake.object_requests)
    _, report = sync(cluster)
    assert report.lines() == []
    assert {verb for _, _, verb in fake.object_requests[before:]} == {"get"}


def test_a_changed_limit_replaces_the_deployment_only(cluster, first_sync):
    fake = cluster.fake
    before = len(fake.object_requests)
    old = stored(fake, "services", "kiso")["spec"]["clusterIP"]
    config, report = sync(cluster, memory_limit="3G")
    assert "kiso: 採点画面のポッドを更新しました" in report.lines()
    updates = [(g, r) for g, r, verb in fake.object_requests[before:] if verb == "update"]
    assert sorted(updates) == [("apps", "deployments"), ("apps", "deployments")]
    (container,) = stored(fake, "deployments", "kiso")["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["memory"] == str(3 * 1024**3)
    assert stored(fake, "services", "kiso")["spec"]["clusterIP"] == old


def test_retiring_a_course_deletes_its_formgrader_and_keeps_its_files(cluster, first_sync):
    fake = cluster.fake
    shutil.rmtree(cluster.data / "courses" / "oyo")
    config, report = sync(cluster, memory_limit="3G")
    lines = report.lines()
    assert any(line.startswith("oyo: course.yaml がなくなったため") for line in lines)
    assert (
        "oyo: コースの終了に合わせて採点画面のポッドを削除しました（採点データは残ります）" in lines
    )
    for resource in ("secrets", "deployments", "services"):
        assert stored(fake, resource, "oyo") is None
        assert stored(fake, resource, "kiso") is not None
    assert (CoursePaths.of(config, "oyo").root / "nbgrader_config.json").is_file()
    names = {s["name"] for s in hooks.services(config, facts_of(config))}
    assert names == {"sunaba-exchange", "formgrader-kiso"}
    # Retired stays retired: nothing more to delete, nothing reported.
    _, again = sync(cluster, memory_limit="3G")
    assert again.lines() == []


def test_a_new_token_or_a_hand_edited_service_is_put_back(cluster, first_sync):
    import yaml

    fake = cluster.fake
    secrets_file = cluster.data / "state" / "secrets.yaml"
    data = yaml.safe_load(secrets_file.read_text())
    data["formgrader_tokens"]["kiso"] = "f" * 64
    secrets_file.write_text(yaml.safe_dump(data))
    edited = stored(fake, "services", "kiso")
    edited["metadata"]["annotations"][F.DIGEST_ANNOTATION] = "edited by hand"
    edited["spec"]["ports"][0]["port"] = 80
    before = len(fake.object_requests)
    config, report = sync(cluster, memory_limit="3G")
    updates = sorted(r for _, r, verb in fake.object_requests[before:] if verb == "update")
    assert updates == ["deployments", "secrets", "services"]
    assert "kiso: 採点画面のポッドを更新しました" in report.lines()
    secret = stored(fake, "secrets", "kiso")
    assert base64.b64decode(secret["data"][F.TOKEN_KEY]).decode() == "f" * 64
    assert stored(fake, "services", "kiso")["spec"]["ports"][0]["port"] == L.FORMGRADER_PORT
    specs = {s["name"]: s for s in hooks.services(config, facts_of(config))}
    assert specs["formgrader-kiso"]["api_token"] == "f" * 64


def test_every_call_is_granted_and_every_grant_is_used(cluster, first_sync):
    # Runs after the other tests of this module: by then create, get, update and delete have
    # been called for each kind.
    (role, _) = formgrader_rbac()
    grants = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
              for r in rule["resources"] for v in rule["verbs"]}  # fmt: skip
    assert set(cluster.fake.object_requests) <= grants
    assert set(cluster.fake.object_requests) == grants
    assert cluster.fake.requests == []  # no pod is made or read directly


def test_without_permission_the_sync_reports_it_in_japanese(cluster, first_sync):
    from kubernetes_asyncio.client import Configuration

    configuration = Configuration(host=cluster.fake.url)  # no token: the fake answers 401
    add_course(cluster.data, "sanko")
    config = site(cluster.data, memory_limit="3G")
    report = sync_courses(config, use_running_hub=False, kube_configuration=configuration)
    assert any("採点画面のポッドを作る権限がありません" in note for note in report.notes)
    assert stored(cluster.fake, "deployments", "sanko") is None
