"""A course's formgrader on Kubernetes: a pod of its own, not a process in the hub pod.

On one machine the hub runs each formgrader as the course's grader account. In the hub pod
there is no other account to switch to, and a Jupyter server running as the hub's own user
would hand every instructor a terminal that reads the hub database and secrets. So each synced
course gets, in the hub's namespace:

- a Secret with the formgrader's hub API token (the hub keeps the same token in its state dir
  and registers the formgrader under it as an external service);
- a Deployment of one pod built from the learner image, locked down like learners' pods, running
  `jupyterhub-singleuser` as the formgrader service, with only that course's directory mounted
  (read-write) and a small /tmp; `Recreate`, because two formgraders must never write one
  gradebook at once;
- a Service in front of it, which the hub names as the service's URL and the proxy routes to.

Every object carries a digest of what it was made from, so that a sync replaces only what
changed (`sunaba.classroom.formgrader_pods`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.layout import FORMGRADER_SERVICE, CoursePaths, grader_account
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_objects import LABELS, restricted
from sunaba.deploy.k8s_services import HUB_SERVICE_HOST, POD_LISTEN_ADDRESS

DIGEST_ANNOTATION = "sunaba.jp/spec-sha256"
TOKEN_KEY = "api-token"  # noqa: S105 (the key inside the Secret, not a token)
CONTAINER = "formgrader"

# What `sunaba.classroom.formgrader_pods` asks of the API, as RBAC names it; the chart's Role
# (`sunaba.deploy.k8s_rbac.formgrader_rbac`) grants exactly this.
API_PERMISSIONS = {
    ("apps", "deployments"): ("create", "delete", "get", "update"),
    ("", "services"): ("create", "delete", "get", "update"),
    ("", "secrets"): ("create", "delete", "get", "update"),
}


def object_name(course_id: str) -> str:
    """Name of the course's Secret, Deployment and Service (course ids are DNS labels)."""
    return f"sunaba-formgrader-{course_id}"


def pod_labels(course_id: str) -> dict[str, str]:
    """What the Deployment's pods carry: Sunaba's formgrader NetworkPolicy selects the role,
    the Service the course, and the chart's hub policy lets pods with the access label in."""
    return {
        **LABELS,
        L.ROLE_LABEL: L.FORMGRADER_ROLE,
        L.COURSE_LABEL: course_id,
        L.HUB_ACCESS: "true",
    }


def selector(course_id: str) -> dict[str, str]:
    return {L.ROLE_LABEL: L.FORMGRADER_ROLE, L.COURSE_LABEL: course_id}


def service_prefix(config: SiteConfig, course_id: str) -> str:
    return f"{config.hub.base_url}services/{FORMGRADER_SERVICE.format(course_id)}/"


def service_url(course_id: str) -> str:
    return f"http://{object_name(course_id)}:{L.FORMGRADER_PORT}"


def hub_service_spec(config: SiteConfig, course_id: str, token: str) -> dict:
    """The formgrader as the hub knows it: an external service with its own token and OAuth
    client, reached at its Service (the hub does not start it; the Deployment does)."""
    service = FORMGRADER_SERVICE.format(course_id)
    return {
        "name": service,
        "url": service_url(course_id),
        "api_token": token,
        "oauth_client_id": f"service-{service}",
        "oauth_redirect_uri": service_prefix(config, course_id) + "oauth_callback",
        "oauth_no_confirm": True,
        "display": False,
    }


def _digest(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode("utf-8")).hexdigest()


def _with_digest(obj: dict) -> dict:
    """`obj` with the digest of itself as an annotation (what a later sync compares)."""
    metadata = obj["metadata"]
    annotations = {**metadata.get("annotations", {}), DIGEST_ANNOTATION: _digest(obj)}
    return {**obj, "metadata": {**metadata, "annotations": annotations}}


def _meta(course_id: str) -> dict:
    return {"name": object_name(course_id), "labels": {**LABELS, **selector(course_id)}}


def token_secret(course_id: str, token: str) -> dict:
    return _with_digest(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(course_id),
            "type": "Opaque",
            "stringData": {TOKEN_KEY: token},
        }
    )


def _env(config: SiteConfig, course_id: str) -> list[dict]:
    """What the hub gives a managed service's process, given to the pod instead."""
    service = FORMGRADER_SERVICE.format(course_id)
    prefix = service_prefix(config, course_id)
    access = json.dumps([f"access:services!service={service}"])
    root = CoursePaths.of(config, course_id).root
    venv_bin = PurePosixPath(config.hub.prefix) / "venv" / "bin"
    plain = {
        "JUPYTERHUB_SERVICE_NAME": service,
        "JUPYTERHUB_CLIENT_ID": f"service-{service}",
        "JUPYTERHUB_USER": grader_account(config, course_id),
        "JUPYTERHUB_API_URL": f"http://{HUB_SERVICE_HOST}:{L.HUB_PORT}{config.hub.base_url}hub/api",
        "JUPYTERHUB_BASE_URL": config.hub.base_url,
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        # jupyterhub-singleuser listens where this URL says: every address of the pod.
        "JUPYTERHUB_SERVICE_URL": f"http://{POD_LISTEN_ADDRESS}:{L.FORMGRADER_PORT}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": prefix + "oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": access,
        "JUPYTERHUB_OAUTH_SCOPES": access,
        "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        # The course directory is the formgrader's home, as the grader account's is.
        "HOME": str(root),
        "PATH": f"{venv_bin}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    token = {"secretKeyRef": {"name": object_name(course_id), "key": TOKEN_KEY}}
    return [
        *({"name": k, "value": v} for k, v in plain.items()),
        {"name": "JUPYTERHUB_API_TOKEN", "valueFrom": token},
    ]


def _resources(config: SiteConfig) -> dict:
    """A formgrader is a Jupyter server like a learner's: the same limits and guarantees."""
    k8s = config.deploy.k8s
    return {
        "limits": {
            "memory": str(parse_size(config.sandbox.memory_limit)),
            "cpu": str(config.sandbox.cpu_limit),
        },
        "requests": {
            "memory": str(parse_size(k8s.memory_guarantee)),
            "cpu": str(k8s.cpu_guarantee),
        },
    }


def pod_spec(config: SiteConfig, course_id: str) -> dict:
    root = str(CoursePaths.of(config, course_id).root)
    prefix = service_prefix(config, course_id)
    container = {
        "name": CONTAINER,
        "image": config.deploy.k8s.singleuser_image,
        "command": [
            str(PurePosixPath(config.hub.prefix) / "venv" / "bin" / "jupyterhub-singleuser")
        ],
        "workingDir": root,
        "env": _env(config, course_id),
        "ports": [{"name": "http", "containerPort": L.FORMGRADER_PORT}],
        "securityContext": restricted(L.LEARNER_UID),
        "resources": _resources(config),
        # Jupyter Server answers /api without a login.
        "readinessProbe": {"httpGet": {"path": prefix + "api", "port": "http"}},
        "volumeMounts": [
            # Only this course's folder of the courses volume: no other course, no hub state.
            {"name": "course", "mountPath": root, "subPath": course_id},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "fsGroup": L.LEARNER_GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "course", "persistentVolumeClaim": {"claimName": L.COURSES_CLAIM}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        ],
    }


def deployment(config: SiteConfig, course_id: str, token: str) -> dict:
    # The token's digest rides in the pod template so that a new token restarts the pod.
    token_digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return _with_digest(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(course_id),
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector(course_id)},
                "template": {
                    "metadata": {
                        "labels": pod_labels(course_id),
                        "annotations": {"sunaba.jp/token-sha256": token_digest},
                    },
                    "spec": pod_spec(config, course_id),
                },
            },
        }
    )


def service(course_id: str) -> dict:
    return _with_digest(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(course_id),
            "spec": {
                "selector": selector(course_id),
                "ports": [{"name": "http", "port": L.FORMGRADER_PORT, "targetPort": "http"}],
            },
        }
    )


def formgrader_objects(config: SiteConfig, course_id: str, token: str) -> list[dict]:
    """In the order they are created: the pod needs the Secret, the Service the pod."""
    return [
        token_secret(course_id, token),
        deployment(config, course_id, token),
        service(course_id),
    ]
