"""The NetworkPolicies of Sunaba's chart: who may talk to learners' pods, grading pods, the
courses' formgraders, PostgreSQL and published showcase apps, and whom they may reach."""

from __future__ import annotations

from sunaba.config.schema import SiteConfig
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_objects import meta
from sunaba.deploy.k8s_services import ServicePort, fixed_port_settings
from sunaba.sandbox.firewall import allowed


def _pods(**labels: str) -> dict:
    return {"podSelector": {"matchLabels": labels}}


def _tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _dns() -> dict:
    return {
        "to": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def learner_policy(config: SiteConfig, ports: list[ServicePort]) -> dict:
    """Learners' pods talk to the proxy, the hub and the Sunaba services they call, and to DNS;
    not to each other, not to the database, not to the cloud metadata server."""
    service_ports = sorted({p.port for p in ports if p.learners})
    egress = [
        {"to": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.HUB_PORT, *service_ports)},
        {"to": [_pods(**{L.COMPONENT: "proxy"})], "ports": _tcp(L.PROXY_HTTP_PORT)},
        _dns(),
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
        "metadata": meta("sunaba-learners"),
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
        "metadata": meta("sunaba-graders"),
        "spec": {
            "podSelector": {"matchLabels": {L.ROLE_LABEL: "grader"}},
            "policyTypes": ["Ingress", "Egress"],
        },
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
        "metadata": meta("sunaba-formgraders"),
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
        "metadata": meta("sunaba-postgresql"),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": L.POSTGRES_NAME}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.POSTGRES_PORT)}],
        },
    }


def showcase_app_policy() -> dict:
    """Published apps' pods (`sunaba.showcase.k8s_runner`) run their authors' code for any
    viewer: only the hub pod (the showcase service, which proxies every viewer) reaches their
    Voilà port, and they reach nothing at all (no internet, no database, no learner, no DNS),
    as an app on one machine runs without network."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta("sunaba-showcase-apps"),
        "spec": {
            "podSelector": {"matchLabels": {L.ROLE_LABEL: L.SHOWCASE_APP_ROLE}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_pods(**{L.COMPONENT: "hub"})], "ports": _tcp(L.SHOWCASE_APP_PORT)}
            ],
        },
    }
