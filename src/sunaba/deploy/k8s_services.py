"""Sunaba's hub services inside the hub pod, reachable from the proxy and from learners' pods.

On one machine every service listens on loopback and the hub announces `http://127.0.0.1:PORT`.
In the cluster the proxy and learners' pods reach the hub pod only through the chart's `hub`
Service, so there each service listens on every address of the pod, is announced under the
Service's name, and has a fixed port that the rendered chart lists (Service ports, the hub's
NetworkPolicy, Sunaba's learner policy). Formgraders appear as courses are synced, after the
chart was rendered: a block of ports after the exchange's is kept for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from sunaba.config.schema import SiteConfig
from sunaba.hub.ports import LISTEN_ENV
from sunaba.messages import BilingualError

HUB_SERVICE_HOST = "hub"  # the chart's Service in front of the hub pod
POD_LISTEN_ADDRESS = "0.0.0.0"  # noqa: S104 (inside the pod; NetworkPolicies decide who gets in)
# Used where the site config leaves a port to be derived or picked when the hub starts.
CHECKS_PORT = 8090
SHOWCASE_PORT = 8091
ROSTER_PORT = 8092  # the admins' roster page (`sunaba.users.hub`): no config setting moves it
EXCHANGE_PORT = 8100  # the formgraders take the ports after it
# Services that browsers reach through the proxy but learners' pods never call: the showcase
# (its gallery and apps are opened in the browser, also from JupyterLab's menu) and the admins'
# roster page.
PROXY_ONLY_SERVICES = frozenset({"showcase", "roster"})
# A single-user server (a course's formgrader) takes its address from its URL unless told.
SINGLEUSER_COMMAND = "jupyterhub-singleuser"


class ServicePortError(BilingualError, ValueError):
    """A service would listen on a port the rendered chart does not open."""


@dataclass(frozen=True)
class ServicePort:
    name: str  # the hub Service's port name: at most 15 characters
    port: int
    learners: bool  # learners' pods call it (formgraders are reached through the proxy only)


def fixed_port_settings(config: SiteConfig) -> dict[str, dict[str, int]]:
    """Site config settings that give every service of the hub pod a fixed port."""
    return {
        "courses": {"service_port": config.courses.service_port or EXCHANGE_PORT},
        "checks": {"port": config.checks.port or CHECKS_PORT},
        "showcase": {"port": config.showcase.port or SHOWCASE_PORT},
    }


def formgrader_ports(config: SiteConfig) -> list[int]:
    """Ports kept for formgraders, for a site config with fixed ports (the hub pod's)."""
    base = config.courses.service_port
    return [base + i for i in range(1, config.deploy.k8s.formgrader_ports + 1)]


def known_ports(config: SiteConfig) -> set[int]:
    fixed = {config.courses.service_port, config.checks.port, config.showcase.port, ROSTER_PORT}
    return fixed | set(formgrader_ports(config))


def service_port(spec: dict) -> int:
    url = urlsplit(spec["url"])
    return url.port or (443 if url.scheme == "https" else 80)


def runs_in_hub_pod(spec: dict) -> bool:
    """A service the hub pod itself runs and announces; an external one (a course's
    formgrader pod, `sunaba.deploy.k8s_formgraders`) keeps the URL of its own Service."""
    return bool(spec.get("url")) and bool(spec.get("command"))


def in_cluster(spec: dict) -> dict:
    """One service entry as the hub pod runs it."""
    if not runs_in_hub_pod(spec):
        return spec
    port = service_port(spec)
    found = {
        **spec,
        "url": f"http://{HUB_SERVICE_HOST}:{port}",
        "environment": {**spec.get("environment", {}), LISTEN_ENV: POD_LISTEN_ADDRESS},
    }
    command = list(spec.get("command") or [])
    if command and PurePosixPath(command[0]).name == SINGLEUSER_COMMAND:
        found["command"] = [*command, f"--ip={POD_LISTEN_ADDRESS}"]
    return found


def services_in_cluster(specs: list[dict], config: SiteConfig) -> list[dict]:
    """Every service entry as the hub pod runs it; refuses a port the chart does not open."""
    allowed = known_ports(config)
    for spec in specs:
        if runs_in_hub_pod(spec) and service_port(spec) not in allowed:
            raise ServicePortError(
                ja=f"ハブのサービス {spec['name']!r} はポート {service_port(spec)} で待ち受け"
                f"ますが、ハブの Service はこのポートを開けていません（開けているのは "
                f"{sorted(allowed)}）。コースが deploy.k8s.formgrader_ports より多いときは、"
                "この設定を増やし、チャートを書き出してインストールし直してください",
                en=f"hub service {spec['name']!r} would listen on port {service_port(spec)}, "
                f"which the hub Service does not expose (it exposes {sorted(allowed)}): with "
                "more courses than deploy.k8s.formgrader_ports, raise that setting and render "
                "and install the chart again",
            )
    return [in_cluster(spec) for spec in specs]


def _port_name(service: str) -> str:
    return service[:15].rstrip("-")


def exposed_ports(config: SiteConfig, services) -> list[ServicePort]:
    """The hub Service's extra ports: the rendered services' and the formgraders' block."""
    block = formgrader_ports(config)
    ports = [
        ServicePort(_port_name(s.name), s.port, learners=s.name not in PROXY_ONLY_SERVICES)
        for s in services
        if s.serves_http and s.port not in block
    ]
    ports += [
        ServicePort(f"formgrader-{i}", port, learners=False) for i, port in enumerate(block, 1)
    ]
    return sorted(ports, key=lambda p: p.port)
