"""Objects Sunaba's chart adds next to Zero to JupyterHub's: NetworkPolicies, PostgreSQL, the
shared and state volumes and the grading pod template. Rendered as plain manifests (no Helm
templating), so tests read exactly what the cluster gets."""

from __future__ import annotations

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.services import HubService

LABELS = {"app.kubernetes.io/part-of": "sunaba", "app.kubernetes.io/managed-by": "Helm"}


def _meta(name: str, **labels: str) -> dict:
    return {"name": name, "labels": {**LABELS, **labels}}


def _pods(**labels: str) -> dict:
    return {"podSelector": {"matchLabels": labels}}


def _tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def learner_policy(config: SiteConfig, services: list[HubService]) -> dict:
    """Learners' pods talk to the proxy, the hub and Sunaba's services, and to DNS; not to each
    other, not to the database, not to the cloud metadata server."""
    service_ports = sorted({s.port for s in services if s.serves_http})
    egress = [
        {"to": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.HUB_PORT, *service_ports)},
        {"to": [_pods(**{L.COMPONENT: "proxy"})], "ports": _tcp(L.PROXY_HTTP_PORT)},
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    }
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
    ]
    if config.deploy.k8s.learner_internet:
        egress.append(
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(L.PRIVATE_RANGES)}}]}
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("sunaba-learners"),
        "spec": {
            "podSelector": {"matchLabels": {L.COMPONENT: L.LEARNER_COMPONENT}},
            "policyTypes": ["Ingress", "Egress"],
            # Only the proxy and the hub carry this label (set by Zero to JupyterHub).
            "ingress": [
                {"from": [_pods(**{L.SINGLEUSER_ACCESS: "true"})], "ports": _tcp(L.LEARNER_PORT)}
            ],
            "egress": egress,
        },
    }


def grader_policy() -> dict:
    """Grading pods run untrusted submissions: no traffic in or out at all."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("sunaba-graders"),
        "spec": {
            "podSelector": {"matchLabels": {L.ROLE_LABEL: "grader"}},
            "policyTypes": ["Ingress", "Egress"],
        },
    }


def postgres_policy() -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("sunaba-postgresql"),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": L.POSTGRES_NAME}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.POSTGRES_PORT)}],
        },
    }


def _claim(name: str, size: str, mode: str, storage_class: str) -> dict:
    spec = {"accessModes": [mode], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            **_meta(name),
            # Keep learners' shared files and the hub's state when the release is removed.
            "annotations": {"helm.sh/resource-policy": "keep"},
        },
        "spec": spec,
    }


def volumes(config: SiteConfig) -> list[dict]:
    k8s = config.deploy.k8s
    return [
        _claim(L.SHARED_CLAIM, k8s.shared_size, "ReadWriteMany", k8s.shared_storage_class),
        _claim(L.STATE_CLAIM, k8s.state_size, "ReadWriteOnce", k8s.storage_class),
    ]


def _restricted(uid: int, read_only_root: bool = True) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "capabilities": {"drop": ["ALL"]},
    }


def postgres(config: SiteConfig) -> list[dict]:
    k8s = config.deploy.k8s
    labels = {"app.kubernetes.io/name": L.POSTGRES_NAME}
    password = {"secretKeyRef": {"name": k8s.db_secret, "key": "password"}}
    container = {
        "name": "postgresql",
        "image": k8s.postgresql_image,
        "ports": [{"name": "postgresql", "containerPort": L.POSTGRES_PORT}],
        "env": [
            {"name": "POSTGRES_USER", "value": "sunaba"},
            {"name": "POSTGRES_DB", "value": "sunaba"},
            {"name": "POSTGRES_PASSWORD", "valueFrom": password},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "securityContext": _restricted(999),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "sunaba"]}},
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(L.POSTGRES_NAME, **labels),
        "spec": {
            "serviceName": L.POSTGRES_NAME,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**LABELS, **labels}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "fsGroup": 999,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
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
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(L.POSTGRES_NAME, **labels),
        "spec": {
            "selector": labels,
            "ports": [{"name": "postgresql", "port": L.POSTGRES_PORT, "targetPort": "postgresql"}],
        },
    }
    return [statefulset, service, postgres_policy()]


def grader_template(config: SiteConfig) -> dict:
    """What every grading pod is made from: the learner image, no network (see grader_policy),
    no credentials, nothing writable but a small /tmp, tight limits."""
    k8s = config.deploy.k8s
    limits = {"memory": str(parse_size(k8s.grader_memory)), "cpu": str(k8s.grader_cpu)}
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": _meta(L.GRADER_TEMPLATE),
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
                "containers": [
                    {
                        "name": "grader",
                        "image": k8s.singleuser_image,
                        "securityContext": _restricted(L.LEARNER_UID),
                        "resources": {"limits": limits, "requests": limits},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }
                ],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            },
        },
    }


def manifests(config: SiteConfig, services: list[HubService]) -> dict[str, list[dict]]:
    """Template file name -> the objects it holds."""
    files = {
        "templates/sunaba-networkpolicies.yaml": [
            learner_policy(config, services),
            grader_policy(),
        ],
        "templates/sunaba-volumes.yaml": volumes(config),
        "templates/sunaba-grader.yaml": [grader_template(config)],
    }
    if config.deploy.k8s.postgresql:
        files["templates/sunaba-postgresql.yaml"] = postgres(config)
    return files
