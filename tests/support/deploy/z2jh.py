"""What Zero to JupyterHub's hub config does with the values Sunaba renders.

No cluster runs here, so the chart's `files/hub/jupyterhub_config.py` cannot run either (it reads
the values from a mounted ConfigMap and Kubernetes service variables). This repeats its mapping
from `singleuser.*` and `hub.config` to KubeSpawner traits for every key Sunaba's values use,
trait for trait, so that real KubeSpawner objects can be built from the rendered values.
A key Sunaba renders but this mapping does not know fails the test instead of being ignored.
"""

from __future__ import annotations

from traitlets.config import Config

KNOWN_SINGLEUSER_KEYS = {
    "image", "cmd", "defaultUrl", "startTimeout", "uid", "fsGid", "allowPrivilegeEscalation",
    "memory", "cpu", "extraEnv", "extraLabels", "storage", "networkPolicy", "cloudMetadata",
}  # fmt: skip

# The chart's default names for a user's volume and claim (values.yaml, kubespawner defaults).
VOLUME_NAME_TEMPLATE = "volume-{user_server}"
PVC_NAME_TEMPLATE = "claim-{user_server}"
COMMON_LABELS = {"app": "jupyterhub", "heritage": "jupyterhub", "release": "sunaba"}


def chart_config(values: dict) -> Config:
    """A traitlets Config as the chart's hub config would build it from `values`."""
    hub, singleuser = values["hub"], values["singleuser"]
    unknown = set(singleuser) - KNOWN_SINGLEUSER_KEYS
    assert not unknown, f"singleuser keys this mapping does not know: {unknown}"
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.KubeSpawner.common_labels = dict(COMMON_LABELS)
    c.KubeSpawner.namespace = "sunaba"
    ks = c.KubeSpawner
    image = singleuser["image"]
    ks.image = f"{image['name']}:{image['tag']}"
    c.Spawner.cmd = singleuser["cmd"]
    c.Spawner.default_url = singleuser["defaultUrl"]
    ks.start_timeout = singleuser["startTimeout"]
    ks.uid = singleuser["uid"]
    ks.fs_gid = singleuser["fsGid"]
    ks.allow_privilege_escalation = singleuser["allowPrivilegeEscalation"]
    ks.mem_limit = singleuser["memory"]["limit"]
    ks.mem_guarantee = singleuser["memory"]["guarantee"]
    ks.cpu_limit = singleuser["cpu"]["limit"]
    ks.cpu_guarantee = singleuser["cpu"]["guarantee"]
    ks.environment = singleuser["extraEnv"]
    ks.extra_labels = singleuser["extraLabels"]

    storage = singleuser["storage"]
    assert storage["type"] == "dynamic"
    dynamic = storage["dynamic"]
    ks.pvc_name_template = dynamic.get("pvcNameTemplate") or PVC_NAME_TEMPLATE
    ks.storage_pvc_ensure = True
    if dynamic.get("storageClass"):
        ks.storage_class = dynamic["storageClass"]
    ks.storage_access_modes = dynamic["storageAccessModes"]
    ks.storage_capacity = storage["capacity"]
    volume = dynamic.get("volumeNameTemplate") or VOLUME_NAME_TEMPLATE
    volumes = [{"name": volume, "persistentVolumeClaim": {"claimName": ks.pvc_name_template}}]
    mounts = [{"mountPath": storage["homeMountPath"], "name": volume}]
    ks.volumes = volumes + list(storage.get("extraVolumes") or [])
    ks.volume_mounts = mounts + list(storage.get("extraVolumeMounts") or [])

    init_containers = []
    if singleuser["cloudMetadata"]["blockWithIptables"]:
        # The chart adds a privileged iptables container in this case.
        init_containers.append(
            {
                "name": "block-cloud-metadata",
                "image": "quay.io/jupyterhub/k8s-network-tools",
                "securityContext": {"privileged": True, "runAsUser": 0},
            }
        )
    ks.init_containers = init_containers

    # `hub.config` is passed through to traitlets unchanged.
    for section, traits in hub.get("config", {}).items():
        for name, value in traits.items():
            setattr(c[section], name, value)
    return c


# Labels of the chart's hub and proxy pods (the chart's `jupyterhub.matchLabels`).
HUB_POD_LABELS = {"component": "hub", "app": "jupyterhub", "release": "sunaba"}
PROXY_POD_LABELS = {"component": "proxy", "app": "jupyterhub", "release": "sunaba"}


def _rule(peers_key: str, labels: dict, *ports: int) -> dict:
    return {
        peers_key: [{"podSelector": {"matchLabels": labels}}],
        "ports": [{"protocol": "TCP", "port": port} for port in ports],
    }


def chart_network_policies(values: dict) -> list[dict]:
    """The chart's own NetworkPolicies of the hub and proxy pods, as its templates
    (`templates/hub/netpol.yaml`, `templates/proxy/netpol.yaml`) build them from `values`: the
    rules the chart always adds, then `<pod>.networkPolicy.ingress` and `.egress` from the
    values. The `egressAllowRules` become ipBlock rules, which the NetworkPolicy reader never
    matches to a pod, so they are left out: what reaches a pod here is what a rule names."""
    hub = values["hub"].get("networkPolicy", {})
    proxy = values.get("proxy", {}).get("chp", {}).get("networkPolicy", {})
    access = "hub.jupyter.org/network-access-"
    learners = {"component": "singleuser-server"}

    def policy(name: str, labels: dict, ingress: list, egress: list) -> dict:
        return {
            "kind": "NetworkPolicy",
            "metadata": {"name": name},
            "spec": {
                "podSelector": {"matchLabels": labels},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress,
                "egress": egress,
            },
        }

    return [
        policy(
            "hub",
            HUB_POD_LABELS,
            [_rule("from", {f"{access}hub": "true"}, 8081), *hub.get("ingress", [])],
            [
                _rule("to", {"component": "proxy"}, 8001),
                _rule("to", learners, 8888),
                *hub.get("egress", []),
            ],
        ),
        policy(
            "proxy",
            PROXY_POD_LABELS,
            [
                # `proxy.chp.networkPolicy.allowedIngressPorts` (http, https): from anywhere.
                {"ports": [{"protocol": "TCP", "port": 8000}, {"protocol": "TCP", "port": 8443}]},
                _rule("from", {f"{access}proxy-http": "true"}, 8000),
                _rule("from", {f"{access}proxy-api": "true"}, 8001),
                *proxy.get("ingress", []),
            ],
            [
                _rule("to", {"component": "hub"}, 8081),
                _rule("to", learners, 8888),
                *proxy.get("egress", []),
            ],
        ),
    ]
