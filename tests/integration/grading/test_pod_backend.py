"""The Kubernetes grading backend (`sunaba.grading.pods`) driven against a fake API server.

No Kubernetes cluster runs here. `tests.support.fake_kube_judge.FakeJudgedCluster` is a mock of
the cluster only, on 127.0.0.1: it records the pod manifests it receives, every request as RBAC
names it and what each container was sent on stdin, and runs each pod by starting its
containers' commands — the real in-pod program and the real judge program — as local processes
of their own uids (as root: the learner's as `nobody`, the judge's as its own uid), with the
pod's emptyDir volumes as folders, stopping the pod over its memory limit (reported OOMKilled) or
past its deadline (reported DeadlineExceeded), as a kubelet would. Mocked, for want of a
cluster: the API server, the kubelet, and the container boundary itself (a container's private
volumes are folders only its uid may enter, a read-only mount a folder the other uid cannot
write). Job, graders, results and verdicts travel over its pods/attach websocket.
"""

from __future__ import annotations

import pytest

from sunaba.config.loader import validate
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_manifests import grader_template
from sunaba.deploy.k8s_policies import grader_policy
from sunaba.deploy.k8s_rbac import grading_rbac
from sunaba.grading import pods
from sunaba.grading.backends import run_jobs
from sunaba.grading.execute import KERNEL_DIED, TIMEOUT
from sunaba.grading.jobs import Job, SandboxError
from sunaba.grading.pod_payloads import BROKEN_NOTEBOOK
from sunaba.grading.pod_results import CRASHED, DEADLINE, OOM
from tests.support.fake_kube_judge import FakeJudgedCluster
from tests.support.pod_grading import (
    ANSWER,
    ANSWER_42,
    FORGER,
    HOSTILE,
    NOTEBOOK,
    PREFIX,
    TEST,
    demo_notebook,
    error_names,
    pod_site,
    text_of,
)

GRADUAL_HOG = ANSWER_42 + "chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n"
# Kills the program above it, then the executor recording it (a sibling: same uid). In that
# order: the executor dying first would let the program end normally before it is reached.
FAMILY_KILLER = ANSWER_42 + (
    "import os, signal\n"
    "parent, siblings = os.getppid(), []\n"
    "for entry in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        ppid = int(open(f'/proc/{entry}/stat').read().rsplit(')', 1)[1].split()[1])\n"
    "    except (OSError, ValueError, IndexError):\n"
    "        continue\n"
    "    if ppid == parent and int(entry) != os.getpid():\n"
    "        siblings.append(int(entry))\n"
    "for pid in [parent, *siblings]:\n"
    "    os.kill(pid, signal.SIGKILL)\n"
)
IGNORES_INTERRUPTS = ANSWER_42 + (
    "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "while True:\n    time.sleep(0.1)\n"
)


def job(student: str, answer: str) -> Job:
    return Job(student, {NOTEBOOK: demo_notebook(answer), "data.csv": b"a,b\n1,2\n"}, (NOTEBOOK,))


def role_grants() -> set[tuple[str, str]]:
    (role,) = [o for o in grading_rbac() if o["kind"] == "Role"]
    return {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}


@pytest.fixture(scope="module")
def graded():
    config = pod_site()
    jobs = [
        job("right", ANSWER_42),
        job("wrong", "def answer():\n    return 41\n"),
        job("looper", HOSTILE["looper"]),
        job("exiter", HOSTILE["exiter"]),
        job("forger", FORGER),
    ]
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(config, "kiso", "hw1", jobs, configuration=fake.configuration())
        yield config, fake, results


def test_results_flow_back_for_every_submission(graded):
    _, _, results = graded
    assert sorted(results) == ["exiter", "forger", "looper", "right", "wrong"]
    executed = {s: r.executed[NOTEBOOK] for s, r in results.items()}
    assert text_of(executed["right"], TEST) == "TEST passed\n"
    assert error_names(executed["wrong"], TEST) == ["AssertionError"]
    assert TIMEOUT.format(seconds=3) in text_of(executed["looper"], ANSWER)
    assert text_of(executed["looper"], TEST) == "TEST passed\n"
    assert text_of(executed["exiter"], ANSWER) == KERNEL_DIED
    assert text_of(executed["forger"], ANSWER).startswith("FORGE denied")
    assert all(r.problems == [] for r in results.values())


def test_every_pod_is_the_rendered_template(graded):
    config, fake, _ = graded
    template = grader_template(config)["template"]
    expected = template["spec"]["containers"][0]
    selector = grader_policy()["spec"]["podSelector"]["matchLabels"]
    assert len(fake.created) == 5
    for manifest in fake.created:
        spec = manifest["spec"]
        container, judge = spec["containers"]
        assert judge == template["spec"]["containers"][1]
        assert manifest["metadata"]["labels"] == template["metadata"]["labels"]
        assert selector.items() <= manifest["metadata"]["labels"].items()
        assert spec["automountServiceAccountToken"] is False
        assert "serviceAccountName" not in spec and "serviceAccount" not in spec
        assert spec["enableServiceLinks"] is False
        assert spec["securityContext"] == template["spec"]["securityContext"]
        assert container["securityContext"] == expected["securityContext"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["limits"] == {"memory": str(900 << 20), "cpu": "1.0"}
        assert container["command"] == [f"{PREFIX}/venv/bin/python", "-m", "sunaba.grading.inpod"]
        assert container["stdin"] is True and container["stdinOnce"] is True
        assert spec["volumes"] == template["spec"]["volumes"]
        assert spec["activeDeadlineSeconds"] >= 40 + 3
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert all(m["readOnly"] for path, m in mounts.items() if path != "/tmp")


def test_pods_run_several_at_once_and_are_all_deleted(graded):
    _, fake, _ = graded
    assert fake.pods == {}
    assert fake.running_processes() == []
    assert sorted(fake.deleted) == sorted(m["metadata"]["name"] for m in fake.created)
    assert 1 < fake.peak_pods <= 3


def test_the_role_grants_exactly_what_the_backend_calls(graded):
    _, fake, _ = graded
    used = set(fake.requests)
    grants = role_grants()
    assert used <= grants
    # Every grant is used; an attach is authorised as `get` here, as `create` by newer servers.
    assert grants - used == {("pods/attach", "create")}


def test_a_pod_killed_for_memory_is_a_dead_kernel():
    config = pod_site(cell_timeout=60)  # the hog must reach the limit before any interrupt
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(
            config,
            "kiso",
            "hw1",
            [job("hog", GRADUAL_HOG), job("right", ANSWER_42)],
            configuration=fake.configuration(),
        )
        reasons = {p.manifest["metadata"]["name"]: p.terminated for p in fake.finished.values()}
        assert fake.pods == {} and len(fake.deleted) == 2
    assert {"reason": "OOMKilled", "exitCode": 137} in reasons.values()
    hog = results["hog"]
    oom = OOM.format(limit="900 MB")
    assert hog.problems == [
        f"{NOTEBOOK}: 採点用の環境が途中で止まり、実行結果が返りませんでした（{oom}）"
    ]
    notebook = hog.executed[NOTEBOOK]
    for index in (ANSWER, TEST):
        assert error_names(notebook, index) == ["KernelDied"]
        assert text_of(notebook, index) == f"{KERNEL_DIED}（{oom}）"
    assert text_of(results["right"].executed[NOTEBOOK], TEST) == "TEST passed\n"


def test_a_pod_past_its_deadline_is_a_dead_kernel(monkeypatch):
    original = pods.pod_manifest

    def short_deadline(settings, name, job):
        manifest = original(settings, name, job)
        manifest["spec"]["activeDeadlineSeconds"] = 4
        return manifest

    monkeypatch.setattr(pods, "pod_manifest", short_deadline)
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(
            pod_site(), "kiso", "hw1", [job("stuck", IGNORES_INTERRUPTS)],
            configuration=fake.configuration(),
        )  # fmt: skip
        assert fake.pods == {} and len(fake.deleted) == 1
    deadline = DEADLINE.format(seconds=4)
    assert results["stuck"].problems == [
        f"{NOTEBOOK}: 採点用の環境が途中で止まり、実行結果が返りませんでした（{deadline}）"
    ]
    assert text_of(results["stuck"].executed[NOTEBOOK], TEST) == f"{KERNEL_DIED}（{deadline}）"


def test_a_pod_that_fails_is_a_dead_kernel_and_is_deleted():
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(
            pod_site(), "kiso", "hw1", [job("killer", FAMILY_KILLER)],
            configuration=fake.configuration(),
        )  # fmt: skip
        assert fake.pods == {} and len(fake.deleted) == 1
        assert fake.running_processes() == []  # the orphaned kernel went with the pod
    crashed = CRASHED.format(code=137)
    assert text_of(results["killer"].executed[NOTEBOOK], ANSWER) == f"{KERNEL_DIED}（{crashed}）"


def test_a_refused_submission_never_becomes_a_pod():
    broken = Job("broken", {NOTEBOOK: b"{not json"}, (NOTEBOOK,))
    escaping = Job("escaping", {NOTEBOOK: demo_notebook(ANSWER_42), "../x": b""}, (NOTEBOOK,))
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(
            pod_site(), "kiso", "hw1", [broken, escaping], configuration=fake.configuration()
        )
        assert fake.created == []
    assert results["broken"].problems == [BROKEN_NOTEBOOK]
    assert results["escaping"].problems == ["提出物のファイル名が不正です: '../x'"]


def test_an_api_that_refuses_stops_the_run_in_japanese():
    with FakeJudgedCluster() as fake:
        configuration = fake.configuration()
        configuration.api_key = {"BearerToken": "wrong-token"}
        with pytest.raises(SandboxError, match="権限がありません"):
            pods.run_pod_jobs(
                pod_site(), "kiso", "hw1", [job("a", ANSWER_42)], configuration=configuration
            )
        assert fake.created == []


def test_the_local_sandbox_stays_the_default():
    assert validate({}, "test").grading.backend == "sandbox"
    assert grader_template(pod_site())["metadata"]["name"] == L.GRADER_TEMPLATE


def test_run_jobs_uses_pods_when_the_site_says_kubernetes(monkeypatch):
    """The entry point the autograder and the formgrader's button call."""
    with FakeJudgedCluster() as fake:
        monkeypatch.setattr(pods, "in_cluster_configuration", fake.configuration)
        results = run_jobs(pod_site(), "kiso", "hw1", [job("right", ANSWER_42)], uid_offset=512)
        assert len(fake.created) == 1 and fake.pods == {}
    assert text_of(results["right"].executed[NOTEBOOK], TEST) == "TEST passed\n"
