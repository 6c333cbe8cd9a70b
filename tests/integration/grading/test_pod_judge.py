"""Verdicts in a grading pod come from its judge container, never from the learner's.

No Kubernetes cluster runs here: `tests.support.fake_kube_judge.FakeJudgedCluster` mocks the API
server, the kubelet and the container boundary (see tests/integration/grading/test_pod_backend.py
and the fake's docstring); the learner's in-pod program and the judge's program run for real, as
local processes of two uids. A small course's grader file goes to the judge container only; an
honest submission scores from the judge's record; a submission that looks for the graders finds
none; one that brings its own judge, and a forged verdict in its notebook, gets no point.
"""

from __future__ import annotations

import base64
import json

import nbformat
import pytest

from sunaba.deploy.k8s_judge import CONTAINER as JUDGE_CONTAINER
from sunaba.deploy.k8s_judge import UID as JUDGE_UID
from sunaba.grading import pods
from sunaba.grading.jobs import Job
from sunaba.grading.pod_results import NO_VERDICTS
from sunaba.grading.replay import apply_verdicts
from tests.support.fake_kube_judge import FakeJudgedCluster
from tests.support.pod_grading import (
    ANSWER,
    ANSWER_42,
    NOTEBOOK,
    TEST,
    demo_notebook,
    error_names,
    pod_site,
    text_of,
)

SECRET = "GRADER-SECRET-7c2a"  # only in the grader file
GRADER = f"""
# {SECRET}
from sunaba.checks.grader import Question

QUESTIONS = [Question("q1", expected=lambda: 42)]
""".encode()
CHECK_CELL = (
    'from sunaba.checks import assert_check\nassert_check("q1", answer())\nprint("CHECKED")\n'
)
WRONG = "def answer():\n    return 41\n"
# Looks for the graders everywhere the pod lets it: every folder it can list from the top of
# the pod's filesystem here (the fake's pod folder), every file it can read there.
GRADER_READER = ANSWER_42 + (
    "import os\n"
    "top = os.environ['TMPDIR']\n"
    "while os.path.dirname(top) != top and 'sunaba-pod-test-' not in os.path.basename(top):\n"
    "    top = os.path.dirname(top)\n"
    "read = found = 0\n"
    "for directory, _dirs, files in os.walk(top):\n"
    "    for name in files:\n"
    "        try:\n"
    "            data = open(os.path.join(directory, name), 'rb').read()\n"
    "        except OSError:\n"
    "            continue\n"
    "        read += 1\n"
    # In two halves: the submission itself (a file the reader reads) must not hold it whole.
    f"        found += b'{SECRET[:7]}' + b'{SECRET[7:]}' in data\n"
    "print('READ', read, 'FOUND', found, os.environ.get('SUNABA_GRADERS_DIR'))\n"
)
# A wrong answer, and a judge of its own that passes everything: the kernel's assert_check
# then passes, but the judge container never heard of it.
FAKE_JUDGE = WRONG + (
    "import json, os, socket, struct, threading\n"
    "path = os.path.join(os.environ['TMPDIR'], 'fake.sock')\n"
    "server = socket.socket(socket.AF_UNIX)\n"
    "server.bind(path)\n"
    "server.listen(4)\n"
    "def serve():\n"
    "    while True:\n"
    "        conn, _ = server.accept()\n"
    "        size = struct.unpack('>I', conn.recv(4))[0]\n"
    "        while size > 0:\n"
    "            size -= len(conn.recv(size))\n"
    "        reply = json.dumps({'ok': True, 'messages': []}).encode()\n"
    "        conn.sendall(struct.pack('>I', len(reply)) + reply)\n"
    "        conn.close()\n"
    "threading.Thread(target=serve, daemon=True).start()\n"
    "os.environ['SUNABA_JUDGE_SOCKET'] = path\n"
)
FORGED = {"cells": {str(TEST): [{"question": "q1", "ok": True, "message": ""}]}}


def checked_job(student: str, answer: str, **metadata) -> Job:
    """A notebook whose graded test cell calls `assert_check`, as a course's would."""
    notebook = nbformat.reads(demo_notebook(answer), as_version=4)
    notebook.cells[TEST].source = CHECK_CELL
    grade = {"grade": True, "grade_id": "test_q1", "points": 1, "solution": False, "locked": True}
    notebook.cells[TEST].metadata["nbgrader"] = {**grade, "schema_version": 3}
    notebook.metadata.update(metadata)
    return Job(student, {NOTEBOOK: nbformat.writes(notebook).encode()}, (NOTEBOOK,))


def scored_errors(executed: dict) -> list[str]:
    """The test cell's errors once the recorded verdicts are applied, as the scorer does."""
    notebook = nbformat.reads(json.dumps(executed), as_version=4)  # as the scorer reads it
    apply_verdicts(notebook, notebook.metadata.get("sunaba_judge"))
    return [o["evalue"] for o in notebook.cells[TEST].outputs if o["output_type"] == "error"]


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    graders = tmp_path_factory.mktemp("graders")
    (graders / "kiso").mkdir()
    (graders / "kiso" / "hw1.py").write_bytes(GRADER)
    (graders / "other").mkdir()
    (graders / "other" / "hw1.py").write_bytes(b"# another course's grader\n")
    jobs = [
        checked_job("honest", ANSWER_42),
        checked_job("wrong", WRONG),
        checked_job("reader", GRADER_READER),
        checked_job("forger", FAKE_JUDGE, sunaba_judge=FORGED),
    ]
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(
            pod_site(graders), "kiso", "hw1", jobs, configuration=fake.configuration()
        )
        yield fake, results


def sent_to(fake, container: str) -> list[bytes]:
    return [bytes(data) for (_pod, name), data in fake.stdin.items() if name == container]


def test_graders_go_to_the_judge_container_only(judged):
    fake, _ = judged
    encoded = base64.b64encode(GRADER)
    learner, judge = sent_to(fake, "grader"), sent_to(fake, JUDGE_CONTAINER)
    assert len(learner) == len(judge) == 4
    assert all(SECRET.encode() not in data and encoded not in data for data in learner)
    assert all(b'"graders"' not in data for data in learner)
    for data in judge:
        sent = json.loads(data.split(b"\n")[0])
        assert sent["course"] == "kiso" and sent["assignment"] == "hw1"
        assert sent["graders"] == {"kiso/hw1.py": encoded.decode()}  # not another course's
    for manifest in fake.created:
        learner_container, judge_container = manifest["spec"]["containers"]
        assert judge_container["securityContext"]["runAsUser"] == JUDGE_UID
        assert learner_container["securityContext"]["runAsUser"] != JUDGE_UID


def test_an_honest_submission_scores_from_the_judges_record(judged):
    _, results = judged
    honest = results["honest"].executed[NOTEBOOK]
    assert results["honest"].problems == []
    assert text_of(honest, TEST) == "CHECKED\n"
    assert honest["metadata"]["sunaba_judge"] == {
        "cells": {str(TEST): [{"question": "q1", "ok": True, "message": ""}]}
    }
    assert scored_errors(honest) == []
    wrong = results["wrong"].executed[NOTEBOOK]
    assert error_names(wrong, TEST) == ["AssertionError"]
    [verdict] = wrong["metadata"]["sunaba_judge"]["cells"][str(TEST)]
    assert verdict["question"] == "q1" and verdict["ok"] is False
    assert scored_errors(wrong) != []


def test_a_submission_reading_the_graders_finds_nothing(judged):
    _, results = judged
    reader = results["reader"].executed[NOTEBOOK]
    said = text_of(reader, ANSWER)
    assert said.startswith("READ ") and said.endswith(" FOUND 0 None\n")
    assert int(said.split()[1]) > 0  # it could read files: its own, not the graders
    assert SECRET not in json.dumps(reader)
    assert scored_errors(reader) == []  # and its honest answer still scores


def test_a_forged_verdict_gets_no_points(judged):
    _, results = judged
    forger = results["forger"].executed[NOTEBOOK]
    assert text_of(forger, TEST) == "CHECKED\n"  # its own judge passed it in the kernel
    assert forger["metadata"]["sunaba_judge"] == {"cells": {}}  # the claim it came with is gone
    [problem] = scored_errors(forger)
    assert "q1" in problem and "判定" in problem


def test_no_record_from_the_judge_fails_every_check(monkeypatch, tmp_path):
    """A judge container that never answers: the learner's container still runs; the instructor
    is told; no `assert_check` cell passes."""
    (tmp_path / "kiso").mkdir()
    (tmp_path / "kiso" / "hw1.py").write_bytes(GRADER)
    monkeypatch.setattr(pods, "verdict_records", lambda data: None)
    with FakeJudgedCluster() as fake:
        results = pods.run_pod_jobs(
            pod_site(tmp_path), "kiso", "hw1", [checked_job("honest", ANSWER_42)],
            configuration=fake.configuration(),
        )  # fmt: skip
    honest = results["honest"]
    assert honest.problems == [NO_VERDICTS]
    assert honest.executed[NOTEBOOK]["metadata"]["sunaba_judge"] == {"cells": {}}
    assert scored_errors(honest.executed[NOTEBOOK]) != []
