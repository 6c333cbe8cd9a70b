"""Area hook: the admins' roster page (`sunaba.users.page`) as a page of the hub itself."""

from __future__ import annotations

from sunaba.config.schema import SiteConfig


def update(c, config: SiteConfig, facts) -> None:
    # Imported here: the page imports JupyterHub's handlers, which rendering never needs.
    from sunaba.users.page import handlers

    existing = list(c.JupyterHub.extra_handlers) if "extra_handlers" in c.JupyterHub else []
    c.JupyterHub.extra_handlers = [*existing, *handlers(config)]
