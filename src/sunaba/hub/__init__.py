"""Turn the site config into JupyterHub traits."""

from sunaba.hub.apply import HubFacts, apply

__all__ = ["HubFacts", "apply"]
