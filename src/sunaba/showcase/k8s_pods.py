"""An app version's pod on Kubernetes: its manifest and the snapshot it is sent.

On Kubernetes the pod is the app's sandbox (the hub pod can make neither Unix accounts nor
namespaces). It is built from the learner image with the learners' own security context (non-root
uid 1000, no privilege escalation, every capability dropped, read-only root filesystem), no
service account token, the showcase's limits, and the chart's NetworkPolicy for its role label:
traffic in from the hub pod only, none out, as an app on one machine runs without network.

The snapshot reaches the pod without the store: an init container reads it as one JSON line on
stdin (the showcase service attaches to it, as grading does) into an emptyDir that the Voilà
container mounts read-only. A ConfigMap would cap snapshots at 1 MiB (they may be 50 MB), and
a subPath of the hub's state volume would mount the store (ReadWriteOnce, on the hub's node)
into an untrusted pod.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path, PurePosixPath

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_values import kubespawner_traits
from sunaba.hub.apply import learner_env

# What the pod backend asks of the Kubernetes API, as RBAC names it; the chart's Role
# (`sunaba.deploy.k8s_rbac.showcase_rbac`) grants exactly this. `list` finds the pods a
# previous run of the service left; a websocket attach is authorised as `get` or `create`.
API_PERMISSIONS = {"pods": ("create", "delete", "get", "list"), "pods/attach": ("create", "get")}

APP_LABEL = "sunaba.jp/showcase-app"
VERSION_LABEL = "sunaba.jp/showcase-version"
SNAPSHOT_CONTAINER = "snapshot"
VOILA_CONTAINER = "voila"
SNAPSHOT_DIR = "/srv/app"
TMP_DIR = "/tmp"
POD_IP_ENV = "SUNABA_POD_IP"


def app_selector() -> str:
    return f"{L.ROLE_LABEL}={L.SHOWCASE_APP_ROLE}"


def pod_name(app_id: int, version: int) -> str:
    # A tag: the replacement of a version by itself (a restore) gets a pod name of its own.
    return f"sunaba-app-{app_id}-v{version}-{secrets.token_hex(3)}"


def python_in_image(config: SiteConfig) -> str:
    return str(PurePosixPath(config.hub.prefix) / "venv" / "bin" / "python")


def voila_settings(config: SiteConfig, base_url: str, notebook: str) -> dict:
    """What `sandboxed/voila_app.py` is told: the same as on one machine, but TCP on the pod's
    address instead of a Unix socket."""
    showcase = config.showcase
    return {
        "notebook": str(PurePosixPath(SNAPSHOT_DIR) / notebook),
        "listen_env": POD_IP_ENV,
        "port": L.SHOWCASE_APP_PORT,
        "run_dir": TMP_DIR,
        "base_url": base_url,
        "pool_size": showcase.pool_size,
        "cell_timeout": showcase.cell_timeout,
        "max_kernels": showcase.viewer_kernels(),
        "idle_timeout": showcase.kernel_idle_timeout,
    }


def container_env(config: SiteConfig) -> list[dict]:
    env = learner_env(config)
    env.update(
        {
            "HOME": TMP_DIR,
            "TMPDIR": TMP_DIR,
            "USER": "sunaba-app",
            "JUPYTER_CONFIG_DIR": f"{TMP_DIR}/.jupyter",
            "JUPYTER_RUNTIME_DIR": f"{TMP_DIR}/.runtime",
            "MPLCONFIGDIR": f"{TMP_DIR}/.matplotlib",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return [{"name": key, "value": value} for key, value in sorted(env.items())]


def app_resources(config: SiteConfig) -> dict:
    showcase = config.showcase
    limits = {"memory": str(parse_size(showcase.memory_limit)), "cpu": str(showcase.cpu_limit)}
    # Requests equal to limits: an app is never evicted for memory its node lent to others.
    return {"limits": limits, "requests": dict(limits)}


def app_labels(app_id: int, version: int) -> dict:
    return {
        "app.kubernetes.io/part-of": "sunaba",
        L.ROLE_LABEL: L.SHOWCASE_APP_ROLE,
        APP_LABEL: str(app_id),
        VERSION_LABEL: str(version),
    }


def stdin_container(config: SiteConfig, security: dict, name: str, module: str) -> dict:
    """A container running `python -m module` that reads one JSON line (the snapshot and, for
    the check, what to run) on stdin into the `snapshot` volume; the app's and the check's."""
    return {
        "name": name,
        "image": config.deploy.k8s.singleuser_image,
        "command": [python_in_image(config), "-I", "-m", module, SNAPSHOT_DIR],
        "stdin": True,
        "stdinOnce": True,
        "tty": False,
        "env": container_env(config),
        "securityContext": dict(security["container_security_context"]),
        "resources": app_resources(config),
        "volumeMounts": [
            {"name": "snapshot", "mountPath": SNAPSHOT_DIR},
            {"name": "tmp", "mountPath": TMP_DIR},
        ],
    }


def voila_container(config: SiteConfig, security: dict, settings: dict) -> dict:
    """The app's Voilà server, serving the snapshot read-only."""
    return {
        "name": VOILA_CONTAINER,
        "image": config.deploy.k8s.singleuser_image,
        "command": [
            python_in_image(config),
            "-I",
            "-m",
            "sunaba.showcase.sandboxed.voila_app",
            json.dumps(settings, sort_keys=True),
        ],
        "env": [
            *container_env(config),
            {"name": POD_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
        "ports": [{"name": "http", "containerPort": L.SHOWCASE_APP_PORT, "protocol": "TCP"}],
        "securityContext": dict(security["container_security_context"]),
        "resources": app_resources(config),
        "volumeMounts": [
            {"name": "snapshot", "mountPath": SNAPSHOT_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": TMP_DIR},
        ],
    }


def app_pod(
    config: SiteConfig, name: str, app_id: int, version: int, base_url: str, notebook: str
) -> dict:
    security = kubespawner_traits(config)  # exactly what learners' pods get
    receiver = "sunaba.showcase.sandboxed.receive_snapshot"
    settings = voila_settings(config, base_url, notebook)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": app_labels(app_id, version)},
        "spec": {
            # The showcase restarts a dead app with a new pod (and a fresh snapshot copy).
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": dict(security["pod_security_context"]),
            "initContainers": [stdin_container(config, security, SNAPSHOT_CONTAINER, receiver)],
            "containers": [voila_container(config, security, settings)],
            "volumes": pod_volumes(config),
        },
    }


def pod_volumes(config: SiteConfig) -> list[dict]:
    """The snapshot (as large as a snapshot may be) and a scratch folder, both emptyDirs."""
    return [
        {
            "name": "snapshot",
            "emptyDir": {"sizeLimit": str(parse_size(config.showcase.max_snapshot_size))},
        },
        {
            "name": "tmp",
            "emptyDir": {"sizeLimit": str(parse_size(config.sandbox.max_file_size))},
        },
    ]


def encoded_files(folder: Path) -> dict[str, str]:
    """A stored version's files as a pod's stdin carries them: path -> base64 of the bytes."""
    return {
        path.relative_to(folder).as_posix(): base64.b64encode(path.read_bytes()).decode("ascii")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def snapshot_payload(folder: Path) -> bytes:
    """The stored version as the init container reads it: one JSON line."""
    return (json.dumps({"files": encoded_files(folder)}) + "\n").encode("utf-8")
