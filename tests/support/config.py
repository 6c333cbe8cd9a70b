"""Apply a site config to a fresh traitlets Config, as the hub would, with fixed machine facts."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

from sunaba.config.loader import validate
from sunaba.hub.apply import HubFacts, apply

FACTS = HubFacts(
    sandbox_mode="full",
    hub_config_dir=Path("/srv/checkout/hub_config"),
    service_tokens={"sunaba-admin": "t0ken"},
    python="/opt/sunaba/venv/bin/python",
)


def applied(data: dict | None = None, facts: HubFacts = FACTS) -> Config:
    c = Config()
    apply(validate(data or {}, "test"), c, facts)
    return c
