"""Where Sunaba's chart keeps data: the shared, state and courses volumes, and PostgreSQL (a
StatefulSet with its own volume, when the site runs its database in the cluster)."""

from __future__ import annotations

from sunaba.config.schema import SiteConfig
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_objects import LABELS, meta, restricted
from sunaba.deploy.k8s_policies import postgres_policy

POSTGRES_LABELS = {"app.kubernetes.io/name": L.POSTGRES_NAME}


def _claim(name: str, size: str, mode: str, storage_class: str) -> dict:
    spec = {"accessModes": [mode], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            **meta(name),
            # Keep learners' shared files and the hub's state when the release is removed.
            "annotations": {"helm.sh/resource-policy": "keep"},
        },
        "spec": spec,
    }


def courses_volume(config: SiteConfig) -> dict:
    """The course directories: mounted by the hub pod and, one folder each, by the courses'
    formgrader pods (so ReadWriteMany, like the shared volume); never by learners' pods."""
    k8s = config.deploy.k8s
    return _claim(L.COURSES_CLAIM, k8s.state_size, "ReadWriteMany", k8s.shared_storage_class)


def volumes(config: SiteConfig) -> list[dict]:
    k8s = config.deploy.k8s
    return [
        _claim(L.SHARED_CLAIM, k8s.shared_size, "ReadWriteMany", k8s.shared_storage_class),
        _claim(L.STATE_CLAIM, k8s.state_size, "ReadWriteOnce", k8s.storage_class),
    ]


def _postgres_container(config: SiteConfig) -> dict:
    k8s = config.deploy.k8s
    password = {"secretKeyRef": {"name": k8s.db_secret, "key": "password"}}
    return {
        "name": "postgresql",
        "image": k8s.postgresql_image,
        "ports": [{"name": "postgresql", "containerPort": L.POSTGRES_PORT}],
        "env": [
            {"name": "POSTGRES_USER", "value": "sunaba"},
            {"name": "POSTGRES_DB", "value": "sunaba"},
            {"name": "POSTGRES_PASSWORD", "valueFrom": password},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "securityContext": restricted(999),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "sunaba"]}},
    }


def _postgres_statefulset(config: SiteConfig) -> dict:
    k8s = config.deploy.k8s
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(L.POSTGRES_NAME, **POSTGRES_LABELS),
        "spec": {
            "serviceName": L.POSTGRES_NAME,
            "replicas": 1,
            "selector": {"matchLabels": dict(POSTGRES_LABELS)},
            "template": {
                "metadata": {"labels": {**LABELS, **POSTGRES_LABELS}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "fsGroup": 999,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_postgres_container(config)],
                    "volumes": [
                        {"name": "run", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": k8s.postgresql_size}},
                        **({"storageClassName": k8s.storage_class} if k8s.storage_class else {}),
                    },
                }
            ],
        },
    }


def postgres(config: SiteConfig) -> list[dict]:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(L.POSTGRES_NAME, **POSTGRES_LABELS),
        "spec": {
            "selector": dict(POSTGRES_LABELS),
            "ports": [{"name": "postgresql", "port": L.POSTGRES_PORT, "targetPort": "postgresql"}],
        },
    }
    return [_postgres_statefulset(config), service, postgres_policy()]
