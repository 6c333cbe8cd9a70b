"""The judge container of every grading pod (`grader_template` in
`sunaba.deploy.k8s_manifests`), beside the learner's container.

The course's graders reach this container only (`sunaba.grading.pod_judge`, which the hub sends
them to over pods/attach): it runs as a uid of its own, with a /tmp of its own that the learner's
container does not mount. Both containers mount one small volume, `judge-socket`, where the judge
listens: read-write here, read-only in the learner's container, so the kernel can connect to the
socket (SO_PEERCRED tells the judge its uid) but can neither replace it nor leave anything there.
"""

from __future__ import annotations

import copy

from sunaba.checks.judge_service import SOCKET_ENV
from sunaba.deploy.k8s_objects import attached_container, restricted

CONTAINER = "judge"
UID = 1001  # not the learner's (k8s_layout.LEARNER_UID): the kernel cannot signal or read the judge
SOCKET_VOLUME = "judge-socket"
SOCKET_DIR = "/run/sunaba-judge"
SOCKET_PATH = f"{SOCKET_DIR}/judge.sock"
KERNEL_UID_ENV = "SUNABA_KERNEL_UID"  # the only uid the judge answers: the learner container's


def judge_container(beside: dict) -> dict:
    """The judge, in the learner's container's image, with its limits and its public datasets
    (graders may read them, as a local judge does); nothing else of it."""
    datasets = [m for m in beside["volumeMounts"] if m["name"] == "sunaba-shared"]
    # The graders come on stdin and the verdicts leave on stdout.
    return {
        **attached_container(
            CONTAINER,
            beside["image"],
            [beside["command"][0], "-m", "sunaba.grading.pod_judge"],
            {"name": "MPLBACKEND", "value": "agg"},
            {"name": "MPLCONFIGDIR", "value": "/tmp/matplotlib"},
            {"name": SOCKET_ENV, "value": SOCKET_PATH},
            {"name": KERNEL_UID_ENV, "value": str(beside["securityContext"]["runAsUser"])},
            *[{"name": "SUNABA_DATASETS_PATH", "value": m["mountPath"]} for m in datasets[:1]],
        ),
        "securityContext": restricted(UID),
        "resources": copy.deepcopy(beside["resources"]),
        "volumeMounts": [
            {"name": "judge-tmp", "mountPath": "/tmp"},
            {"name": SOCKET_VOLUME, "mountPath": SOCKET_DIR},
            *copy.deepcopy(datasets),
        ],
    }


def judge_volumes() -> list[dict]:
    return [
        {"name": "judge-tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": SOCKET_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ]
