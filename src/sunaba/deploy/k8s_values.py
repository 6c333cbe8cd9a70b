"""Values for the Zero to JupyterHub chart, rendered from the site config.

Chart keys are used where the chart has them (images, limits, storage, ingress); KubeSpawner
traits the chart has no key for go through `hub.config`, which the chart passes through to
traitlets unchanged. Sunaba's own hub settings are applied inside the hub pod by
`sunaba.deploy.k8s_hub.apply_in_hub`, the same apply functions `sunaba up` runs.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from sqlalchemy import make_url

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_services import ServicePort, fixed_port_settings
from sunaba.deploy.rendered import RenderError, dump_yaml
from sunaba.deploy.services import HubService
from sunaba.deploy.sitefile import public_site_config, without_password
from sunaba.deploy.vm_nginx import upload_limit
from sunaba.hub.apply import learner_env

HUB_EXTRA_CONFIG = (
    "# Sunaba: apply the site config with the same functions `sunaba up` uses.\n"
    "from sunaba.deploy.k8s_hub import apply_in_hub\n"
    "apply_in_hub(c)\n"
)

# Secrets the hub pod reads from Kubernetes Secrets into the config's environment layer.
AUTH_SECRET_KEYS = {
    "oidc": ("SUNABA__AUTH__OIDC__CLIENT_SECRET", "oidc-client-secret"),
    "ldap": ("SUNABA__AUTH__LDAP__SEARCH_PASSWORD", "ldap-search-password"),
}


def k8s_site_config(config: SiteConfig) -> dict:
    """The site config the hub pod loads: secrets removed, paths of the pod filled in."""
    data = public_site_config(config)
    data["hub"]["state_dir"] = L.STATE_DIR
    # Ports derived or picked when the hub starts would not match the rendered Service.
    for section, settings in fixed_port_settings(config).items():
        data[section].update(settings)
    data["sandbox"]["home_root"] = str(Path(L.HOME_MOUNT).parent)
    # The hub pod cannot build sandboxes: submissions run in grading pods (sunaba.grading.pods).
    data["grading"]["backend"] = "kubernetes"
    data["courses"].update(course_site_settings(config))
    db_url = hub_db_url(config)
    data["hub"]["db_url"] = db_url
    if not config.records.db_url:
        data["records"]["db_url"] = db_url
    return data


def course_site_settings(config: SiteConfig) -> dict:
    """Course directories on their own volume, which formgrader pods can mount one folder of
    (the state volume is the hub's alone); course files from the checkout in the hub image,
    wherever `kubectl exec` starts `sunaba courses sync` (the image's working directory is no
    checkout)."""
    source = PurePosixPath(L.HUB_SOURCE_DIR)
    return {
        "grading_dir": L.COURSES_MOUNT,
        "directory": config.courses.directory or str(source / "courses"),
        "exercises": config.courses.exercises or str(source / "exercises"),
    }


def courses_volume_values() -> tuple[list[dict], list[dict]]:
    """(extraVolumes, extraVolumeMounts) of the hub pod for the course directories."""
    volume = {"name": "sunaba-courses", "persistentVolumeClaim": {"claimName": L.COURSES_CLAIM}}
    return [volume], [{"name": "sunaba-courses", "mountPath": L.COURSES_MOUNT}]


def to_formgraders() -> dict:
    """An egress rule to the courses' formgrader pods (`sunaba.deploy.k8s_formgraders`): the
    proxy routes graders to them, the hub checks that they are up."""
    return {
        "ports": [{"protocol": "TCP", "port": L.FORMGRADER_PORT}],
        "to": [{"podSelector": {"matchLabels": {L.ROLE_LABEL: L.FORMGRADER_ROLE}}}],
    }


def hub_db_url(config: SiteConfig) -> str:
    if config.hub.db_url:
        url = make_url(config.hub.db_url)
        if url.get_backend_name() != "postgresql":
            raise RenderError(
                ja="hub.db_url: Kubernetes ではハブのデータベースに PostgreSQL が必要です"
                f"（指定されているのは {url.get_backend_name()!r}）",
                en=f"hub.db_url: Kubernetes needs PostgreSQL for the hub database, got "
                f"{url.get_backend_name()!r}",
            )
        return without_password(url)
    if not config.deploy.k8s.postgresql:
        raise RenderError(
            ja="hub.db_url が空で deploy.k8s.postgresql も off です: PostgreSQL のデータベースを"
            "指定してください",
            en="hub.db_url is empty and deploy.k8s.postgresql is off: name a PostgreSQL database",
        )
    return L.database_url(config)


def _secret_env(secret: str, key: str) -> dict:
    return {"valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def hub_env(config: SiteConfig) -> dict:
    k8s = config.deploy.k8s
    env = {
        "SUNABA_CONFIG": L.SITE_CONFIG_PATH,
        # libpq takes the password from the environment: the URL in values has none.
        "PGPASSWORD": _secret_env(k8s.db_secret, "password"),
    }
    if config.auth.type in AUTH_SECRET_KEYS:
        variable, key = AUTH_SECRET_KEYS[config.auth.type]
        env[variable] = _secret_env(k8s.auth_secret, key)
    return env


def _shared_mounts(config: SiteConfig, read_only: bool) -> list[dict]:
    return [
        {
            "name": "sunaba-shared",
            "mountPath": path,
            "subPath": L.sub_path(path),
            "readOnly": read_only,
        }
        for path in L.shared_paths(config)
    ]


def hub_values(config: SiteConfig, ports: list[ServicePort]) -> dict:
    name, tag = L.image_parts(config.deploy.k8s.hub_image)
    course_volumes, course_mounts = courses_volume_values()
    values = {
        "image": {"name": name, "tag": tag},
        "db": {"type": "postgres", "url": hub_db_url(config)},
        "baseUrl": config.hub.base_url,
        "extraConfig": {"50-sunaba": HUB_EXTRA_CONFIG},
        "extraFiles": {
            "sunaba-site-config": {
                "mountPath": L.SITE_CONFIG_PATH,
                "stringData": dump_yaml(k8s_site_config(config)),
            }
        },
        "extraEnv": hub_env(config),
        "extraVolumes": [
            {"name": "sunaba-state", "persistentVolumeClaim": {"claimName": L.STATE_CLAIM}},
            {"name": "sunaba-shared", "persistentVolumeClaim": {"claimName": L.SHARED_CLAIM}},
            *course_volumes,
        ],
        "extraVolumeMounts": [
            {"name": "sunaba-state", "mountPath": L.STATE_MOUNT},
            *course_mounts,
            # The hub fills the shared volume (course sync, dataset fetch); learners only read it.
            *_shared_mounts(config, read_only=False),
        ],
        "config": {
            "JupyterHub": {"admin_access": False},
            "KubeSpawner": kubespawner_traits(config),
        },
    }
    if ports:
        values["service"] = {
            "extraPorts": [{"name": p.name, "port": p.port, "targetPort": p.port} for p in ports]
        }
        values["networkPolicy"] = hub_network_policy(ports)
    if config.showcase.enabled:
        policy = values.setdefault("networkPolicy", {})
        policy.setdefault("egress", []).append(showcase_apps_egress())
        policy["egress"].append(showcase_authors_servers_egress())
    return values


def showcase_apps_egress() -> dict:
    """The hub pod's showcase service proxies viewers to the apps' pods (`k8s_runner`); the
    chart's hub policy lets it reach no pod of the release otherwise."""
    return {
        "ports": [{"protocol": "TCP", "port": L.SHOWCASE_APP_PORT}],
        "to": [{"podSelector": {"matchLabels": {L.ROLE_LABEL: L.SHOWCASE_APP_ROLE}}}],
    }


def showcase_authors_servers_egress() -> dict:
    """Publishing reads the author's notebook from their own server through the proxy
    (`http://proxy-public/user/<name>/api/contents/…`, `sunaba.showcase.author_server`); the
    chart's hub policy lets the hub pod reach the proxy's API port only."""
    return {
        "ports": [{"protocol": "TCP", "port": L.PROXY_HTTP_PORT}],
        "to": [{"podSelector": {"matchLabels": {"component": "proxy"}}}],
    }


def _to_hub_pod(ports: list[ServicePort]) -> dict:
    return {
        "ports": [{"protocol": "TCP", "port": p.port} for p in ports],
        "to": [{"podSelector": {"matchLabels": {L.COMPONENT: "hub"}}}],
    }


def hub_network_policy(ports: list[ServicePort]) -> dict:
    """Rules added to the chart's NetworkPolicy of the hub pod: the proxy and learners (the pods
    the chart labels for hub access) reach Sunaba's services, and so does the hub pod itself,
    whose formgraders call the exchange and which checks its services' health, through the
    Service. Which services learners may call is narrowed by Sunaba's learner policy."""
    return {
        "ingress": [
            {
                "ports": [{"protocol": "TCP", "port": p.port} for p in ports],
                "from": [
                    {"podSelector": {"matchLabels": {L.HUB_ACCESS: "true"}}},
                    {"podSelector": {"matchLabels": {L.COMPONENT: "hub"}}},
                ],
            }
        ],
        "egress": [_to_hub_pod(ports), to_formgraders()],
    }


def proxy_values(config: SiteConfig, ports: list[ServicePort]) -> dict:
    values: dict = {}
    if ports:
        # The chart lets the proxy reach the hub pod on the hub's own port only.
        values["chp"] = {"networkPolicy": {"egress": [_to_hub_pod(ports), to_formgraders()]}}
    if config.deploy.server_name:
        # The ingress is the way in; the proxy needs no load balancer of its own.
        values["service"] = {"type": "ClusterIP"}
    return values


def kubespawner_traits(config: SiteConfig) -> dict:
    """On Kubernetes the pod is the sandbox: non-root, no privilege escalation, nothing but the
    home and /tmp writable."""
    return {
        "container_security_context": {
            "runAsNonRoot": True,
            "runAsUser": L.LEARNER_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "pod_security_context": {
            "runAsNonRoot": True,
            "fsGroup": L.LEARNER_GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # Learners' pods get no Kubernetes API credentials.
        "automount_service_account_token": False,
    }


def singleuser_values(config: SiteConfig) -> dict:
    k8s = config.deploy.k8s
    name, tag = L.image_parts(k8s.singleuser_image)
    venv_bin = Path(config.hub.prefix) / "venv" / "bin"
    env = learner_env(config)
    env["HOME"] = L.HOME_MOUNT
    dynamic = {"storageAccessModes": ["ReadWriteOnce"]}
    if k8s.storage_class:
        dynamic["storageClass"] = k8s.storage_class
    return {
        "image": {"name": name, "tag": tag},
        "cmd": str(venv_bin / "jupyterhub-singleuser"),
        "defaultUrl": config.learner.default_url,
        "startTimeout": config.learner.start_timeout,
        "uid": L.LEARNER_UID,
        "fsGid": L.LEARNER_GID,
        "allowPrivilegeEscalation": False,
        "memory": {
            "limit": parse_size(config.sandbox.memory_limit),
            "guarantee": parse_size(k8s.memory_guarantee),
        },
        "cpu": {"limit": config.sandbox.cpu_limit, "guarantee": k8s.cpu_guarantee},
        "extraEnv": env,
        "extraLabels": {L.HUB_ACCESS: "true", L.ROLE_LABEL: "learner"},
        "storage": {
            "type": "dynamic",
            "capacity": k8s.home_size,
            "homeMountPath": L.HOME_MOUNT,
            "dynamic": dynamic,
            "extraVolumes": [
                {"name": "sunaba-shared", "persistentVolumeClaim": {"claimName": L.SHARED_CLAIM}},
                {"name": "sunaba-tmp", "emptyDir": {"sizeLimit": config.sandbox.max_file_size}},
            ],
            "extraVolumeMounts": [
                *_shared_mounts(config, read_only=True),
                {"name": "sunaba-tmp", "mountPath": "/tmp"},
            ],
        },
        # Sunaba renders its own NetworkPolicy for learners' pods (templates/), which also keeps
        # them away from the metadata server without the chart's privileged iptables container.
        "networkPolicy": {"enabled": False},
        "cloudMetadata": {"blockWithIptables": False, "ip": "169.254.169.254"},
    }


def ingress_values(config: SiteConfig) -> dict:
    host = config.deploy.server_name
    if not host:
        return {"enabled": False}
    return {
        "enabled": True,
        "hosts": [host],
        "tls": [{"hosts": [host], "secretName": config.deploy.k8s.tls_secret}],
        "annotations": {
            "nginx.ingress.kubernetes.io/proxy-body-size": upload_limit(config),
        },
    }


def grader_values(config: SiteConfig) -> dict:
    k8s = config.deploy.k8s
    return {
        "template": L.GRADER_TEMPLATE,
        "memoryLimit": parse_size(k8s.grader_memory),
        "cpuLimit": k8s.grader_cpu,
    }


def jupyterhub_values(
    config: SiteConfig, services: list[HubService], ports: list[ServicePort]
) -> dict:
    values = {
        "hub": hub_values(config, ports),
        "singleuser": singleuser_values(config),
        "ingress": ingress_values(config),
        # Sunaba's idle culler runs as a hub service, configured like on one machine.
        "cull": {"enabled": False},
        "custom": {
            "sunaba": {
                "services": [s.name for s in services],
                "grader": grader_values(config),
            }
        },
    }
    proxy = proxy_values(config, ports)
    if proxy:
        values["proxy"] = proxy
    return values
