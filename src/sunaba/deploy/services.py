"""The hub's services as the hub itself sees them, for rendering deployment files.

`sunaba.hub.apply.update_services` (with every area hook) is run on a fresh traitlets Config with
the facts of the target machine, so a service another area adds appears in the systemd units,
the nginx routes and the Kubernetes NetworkPolicies without any change here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from traitlets.config import Config

from sunaba.config.schema import SiteConfig
from sunaba.core.state import STORED_TOKEN_SERVICES
from sunaba.hub.apply import HubFacts, update_services

# Stands in for stored service tokens: rendering needs to know that a token exists, never its value.
TOKEN_PLACEHOLDER = "<stored in secrets.yaml>"  # noqa: S105 (not a secret)

Adapt = Callable[[list[dict]], list[dict]]


@dataclass(frozen=True)
class HubService:
    name: str
    managed: bool  # started (and restarted when it exits) by the hub itself
    command: tuple[str, ...] = ()
    port: int | None = None  # where it listens, when it serves HTTP on a fixed port
    has_token: bool = False
    port_fixed: bool = True  # False: the area picks a free port each time the hub starts

    @property
    def serves_http(self) -> bool:
        return self.port is not None


def target_facts(python: str, hub_config_dir: Path, sandbox_mode: str = "full") -> HubFacts:
    tokens = {name: TOKEN_PLACEHOLDER for name in STORED_TOKEN_SERVICES}
    return HubFacts(
        sandbox_mode=sandbox_mode,
        hub_config_dir=hub_config_dir,
        service_tokens=tokens,
        python=python,
    )


def _port(url: str | None) -> int | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _specs(config: SiteConfig, facts: HubFacts, adapt: Adapt | None) -> list[dict]:
    c = Config()
    update_services(c, config, facts)
    specs = list(c.JupyterHub.services)
    return adapt(specs) if adapt else specs


def hub_services(
    config: SiteConfig, facts: HubFacts, adapt: Adapt | None = None
) -> list[HubService]:
    """The hub's services, with `adapt` applied to the entries as the target's hub would. An
    area may leave a port to be picked when the hub starts; such a port is not part of any
    rendered file (rendering stays deterministic) and is reported as not fixed."""
    specs = _specs(config, facts, adapt)
    again = {spec["name"]: _port(spec.get("url")) for spec in _specs(config, facts, adapt)}
    services = []
    for spec in specs:
        port = _port(spec.get("url"))
        fixed = again.get(spec["name"]) == port
        services.append(
            HubService(
                name=spec["name"],
                managed=bool(spec.get("command")),
                command=tuple(spec.get("command") or ()),
                port=port if fixed else None,
                has_token=bool(spec.get("api_token")),
                port_fixed=fixed,
            )
        )
    return sorted(services, key=lambda s: s.name)
