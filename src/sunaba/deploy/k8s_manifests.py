"""Objects Sunaba's chart adds next to Zero to JupyterHub's: NetworkPolicies, PostgreSQL, the
shared and state volumes, the grading pod template and the hub's RBAC for grading pods. Rendered as plain manifests (no Helm
templating), so tests read exactly what the cluster gets."""

from __future__ import annotations

from pathlib import PurePosixPath

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_services import ServicePort, fixed_port_settings
from sunaba.runtime.state import public_datasets_dir

LABELS = {"app.kubernetes.io/part-of": "sunaba", "app.kubernetes.io/managed-by": "Helm"}


def _meta(name: str, **labels: str) -> dict:
    return {"name": name, "labels": {**LABELS, **labels}}


def _pods(**labels: str) -> dict:
    return {"podSelector": {"matchLabels": labels}}


def _tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def learner_policy(config: SiteConfig, ports: list[ServicePort]) -> dict:
    """Learners' pods talk to the proxy, the hub and the Sunaba services they call, and to DNS;
    not to each other, not to the database, not to the cloud metadata server."""
    service_ports = sorted({p.port for p in ports if p.learners})
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
    # The same policy as on one machine (`sunaba.sandbox.firewall`): the site's allow-list, and
    # the internet only when both `network.internet` and this deployment's choice allow it.
    egress += allow_list_egress(config)
    if config.deploy.k8s.learner_internet and config.network.internet:
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


def allow_list_egress(config: SiteConfig) -> list[dict]:
    """`network.allow` as ipBlocks (names looked up when the chart is rendered)."""
    from sunaba.sandbox.firewall import allowed

    rules = []
    for entry in allowed(config):
        cidr = (
            entry.network
            if "/" in entry.network
            else f"{entry.network}/{32 if '.' in entry.network else 128}"
        )
        rule: dict = {"to": [{"ipBlock": {"cidr": cidr}}]}
        if entry.ports:
            rule["ports"] = [
                {"protocol": proto, "port": port}
                for port in entry.ports
                for proto in ("TCP", "UDP")
            ]
        rules.append(rule)
    return rules


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


def _dns() -> dict:
    return {
        "to": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def formgrader_policy(config: SiteConfig) -> dict:
    """A course's formgrader pod (`sunaba.deploy.k8s_formgraders`) is a staff page: the proxy
    brings its graders in (and the hub checks that it is up); it calls the hub's API and the
    exchange (release, collect, autograde) and nothing else: not learners, not the database,
    not another course's formgrader, not the internet."""
    exchange = fixed_port_settings(config)["courses"]["service_port"]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("sunaba-formgraders"),
        "spec": {
            "podSelector": {"matchLabels": {L.ROLE_LABEL: L.FORMGRADER_ROLE}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [_pods(**{L.COMPONENT: "proxy"}), _pods(**{L.COMPONENT: "hub"})],
                    "ports": _tcp(L.FORMGRADER_PORT),
                }
            ],
            "egress": [
                {"to": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.HUB_PORT, exchange)},
                _dns(),
            ],
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
    """What every grading pod is made from (`sunaba.grading.pods` builds its pods with this very
    function): the learner image, no network (see grader_policy), no credentials, the public
    datasets read-only, nothing writable but a small /tmp, tight limits."""
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
                        # The job comes on stdin and the results leave on stdout, both through
                        # the hub's pods/attach stream: the pod needs no network for either.
                        "command": [grader_python(config), "-m", "sunaba.grading.inpod"],
                        "stdin": True,
                        "stdinOnce": True,
                        "tty": False,
                        "env": [
                            {"name": "HOME", "value": "/tmp"},
                            {"name": "TMPDIR", "value": "/tmp"},
                            {"name": "LANG", "value": "C.UTF-8"},
                            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
                        ],
                        "securityContext": _restricted(L.LEARNER_UID),
                        "resources": {"limits": limits, "requests": limits},
                        "volumeMounts": [
                            {"name": "tmp", "mountPath": "/tmp"},
                            *grader_dataset_mounts(config),
                        ],
                    }
                ],
                "volumes": [
                    {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
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


# The hub's service account, as Zero to JupyterHub names it (fullnameOverride "").
HUB_SERVICE_ACCOUNT = "hub"
GRADING_ROLE = "sunaba-grading"


def grading_rbac() -> list[dict]:
    """What the hub needs to run grading pods (sunaba.grading.pods): create them, read their
    status, attach to them (job in, results out) and delete them; nothing else."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(GRADING_ROLE),
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get"]},
            # A websocket attach is authorised as `get` by older API servers, `create` by newer.
            {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create", "get"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(GRADING_ROLE),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": GRADING_ROLE},
        # No namespace: a RoleBinding's service account defaults to the binding's own.
        "subjects": [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT}],
    }
    return [role, binding]


FORMGRADER_ROLE = "sunaba-formgraders"


def formgrader_rbac() -> list[dict]:
    """What `sunaba courses sync` in the hub pod needs for the courses' formgraders
    (sunaba.courses.formgrader_pods): read, create, replace and delete their Deployments,
    Services and token Secrets; nothing else (no pods/exec, no listing)."""
    # Imported here: that module builds the formgrader objects on this one's helpers.
    from sunaba.deploy.k8s_formgraders import API_PERMISSIONS

    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(FORMGRADER_ROLE),
        "rules": [
            {"apiGroups": [group], "resources": [resource], "verbs": list(verbs)}
            for (group, resource), verbs in sorted(API_PERMISSIONS.items())
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(FORMGRADER_ROLE),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": FORMGRADER_ROLE,
        },
        "subjects": [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT}],
    }
    return [role, binding]


SHOWCASE_ROLE = "sunaba-showcase"


def showcase_app_policy() -> dict:
    """Published apps' pods (`sunaba.showcase.k8s_runner`) run their authors' code for any
    viewer: only the hub pod (the showcase service, which proxies every viewer) reaches their
    Voilà port, and they reach nothing at all (no internet, no database, no learner, no DNS),
    as an app on one machine runs without network."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("sunaba-showcase-apps"),
        "spec": {
            "podSelector": {"matchLabels": {L.ROLE_LABEL: L.SHOWCASE_APP_ROLE}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.SHOWCASE_APP_PORT)}
            ],
        },
    }


def showcase_rbac() -> list[dict]:
    """What the showcase service needs for apps' pods (sunaba.showcase.k8s_runner): create them,
    read and list them (status, leftovers of a previous run), attach to their snapshot step
    (the snapshot in) and delete them; nothing else."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(SHOWCASE_ROLE),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods"],
                "verbs": ["create", "delete", "get", "list"],
            },
            # A websocket attach is authorised as `get` by older API servers, `create` by newer.
            {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create", "get"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(SHOWCASE_ROLE),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SHOWCASE_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": HUB_SERVICE_ACCOUNT}],
    }
    return [role, binding]


def showcase_manifests(config: SiteConfig) -> dict[str, list[dict]]:
    if not config.showcase.enabled:
        return {}
    return {"templates/sunaba-showcase.yaml": [showcase_app_policy(), *showcase_rbac()]}


def manifests(config: SiteConfig, ports: list[ServicePort]) -> dict[str, list[dict]]:
    """Template file name -> the objects it holds; `ports` are the hub Service's extra ports."""
    files = {
        "templates/sunaba-networkpolicies.yaml": [
            learner_policy(config, ports),
            grader_policy(),
            formgrader_policy(config),
        ],
        "templates/sunaba-volumes.yaml": [*volumes(config), courses_volume(config)],
        "templates/sunaba-grader.yaml": [grader_template(config)],
        "templates/sunaba-grading-rbac.yaml": grading_rbac(),
        "templates/sunaba-formgrader-rbac.yaml": formgrader_rbac(),
    }
    if config.deploy.k8s.postgresql:
        files["templates/sunaba-postgresql.yaml"] = postgres(config)
    files.update(showcase_manifests(config))
    return files
