"""The grading pod template of Sunaba's chart: what every grading pod is made from. The chart's
other objects are in `k8s_policies`, `k8s_storage` and `k8s_rbac`; `sunaba.deploy.k8s` puts them
into the chart's template files."""

from __future__ import annotations

from pathlib import PurePosixPath

from sunaba.checks.judge_service import SOCKET_ENV
from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.state import public_datasets_dir
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_judge import SOCKET_DIR as JUDGE_SOCKET_DIR
from sunaba.deploy.k8s_judge import SOCKET_PATH as JUDGE_SOCKET
from sunaba.deploy.k8s_judge import SOCKET_VOLUME, judge_container, judge_volumes
from sunaba.deploy.k8s_objects import LABELS, attached_container, meta, restricted


def grader_template(config: SiteConfig) -> dict:
    """What every grading pod is made from (`sunaba.grading.pods` builds its pods with this very
    function): the learner image, no network (see grader_policy), no credentials, the public
    datasets read-only, nothing writable but a small /tmp, tight limits; no grader (k8s_judge)."""
    k8s = config.deploy.k8s
    limits = {"memory": str(parse_size(k8s.grader_memory)), "cpu": str(k8s.grader_cpu)}
    # The job comes on stdin and the results leave on stdout.
    learner = {
        **attached_container(
            "grader",
            k8s.singleuser_image,
            [grader_python(config), "-m", "sunaba.grading.inpod"],
            {"name": SOCKET_ENV, "value": JUDGE_SOCKET},
        ),
        "securityContext": restricted(L.LEARNER_UID),
        "resources": {"limits": limits, "requests": limits},
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": SOCKET_VOLUME, "mountPath": JUDGE_SOCKET_DIR, "readOnly": True},
            *grader_dataset_mounts(config),
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": meta(L.GRADER_TEMPLATE),
        "template": {
            "metadata": {"labels": {**LABELS, L.ROLE_LABEL: "grader"}},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "activeDeadlineSeconds": 600,
                "securityContext": {
                    "runAsNonRoot": True,
                    "fsGroup": L.LEARNER_GID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [learner, judge_container(beside=learner)],
                "volumes": [
                    {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                    *judge_volumes(),
                    {
                        "name": "sunaba-shared",
                        "persistentVolumeClaim": {"claimName": L.SHARED_CLAIM, "readOnly": True},
                    },
                ],
            },
        },
    }


def grader_python(config: SiteConfig) -> str:
    return str(PurePosixPath(config.hub.prefix) / "venv" / "bin" / "python")


def grader_dataset_mounts(config: SiteConfig) -> list[dict]:
    """The public datasets, read-only, where a local sandbox shows them; nothing else of the
    shared volume (released course files are no business of a submission)."""
    path = str(public_datasets_dir(config))
    return [
        {"name": "sunaba-shared", "mountPath": path, "subPath": L.sub_path(path), "readOnly": True}
    ]
