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
    proxy_token="proxy-token",
    python="/opt/sunaba/venv/bin/python",
)


# Unit tests never see a real install's state (a hub from `make up` may be running beside them):
# unless a test names its own, the state dir is one that cannot exist.
UNIT_STATE_DIR = "/nonexistent/sunaba-unit-state"


def unit_config(data: dict | None = None):
    data = dict(data or {})
    data["hub"] = {"state_dir": UNIT_STATE_DIR, **data.get("hub", {})}
    return validate(data, "test")


def applied(data: dict | None = None, facts: HubFacts = FACTS) -> Config:
    c = Config()
    apply(unit_config(data), c, facts)
    return c
