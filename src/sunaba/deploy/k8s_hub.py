"""Inside the hub pod on Kubernetes: apply the site config on top of Zero to JupyterHub's config.

The chart's own `jupyterhub_config.py` sets up KubeSpawner, the proxy and the database from the
values; this adds what `sunaba up` would: login, pages, Sunaba's services and roles, the areas'
traits, and the scopes learners' servers need. Network, state and spawner traits stay the
chart's, because on Kubernetes the pod is the sandbox.
"""

from __future__ import annotations

from pathlib import Path

from traitlets.config import LazyConfigValue

from sunaba.config import load_config
from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths, ensure_secrets, ensure_state_dir, read_secrets
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_services import services_in_cluster
from sunaba.deploy.local_install import ensure_datasets_tree
from sunaba.hub.apply import (
    DEFAULT_SERVER_SCOPES,
    HubFacts,
    hub_services_and_roles,
    update_areas,
    update_auth,
    update_templates,
)
from sunaba.hub.areas import area_hooks, gather_areas


def update_services_in_cluster(c, config: SiteConfig, facts: HubFacts) -> None:
    """The services `sunaba up` runs, listening on the pod's addresses and announced under the
    hub Service's name, so that the proxy and learners' pods reach them. The admin's own
    `hub.services` and `hub.loadRoles` (which the chart has put in `c` already) are kept."""
    services, roles = hub_services_and_roles(config, facts)
    c.JupyterHub.services = keep_others(
        c.JupyterHub.services, services_in_cluster(services, config)
    )
    c.JupyterHub.load_roles = keep_others(c.JupyterHub.load_roles, roles)


def keep_others(existing, ours: list[dict]) -> list[dict]:
    """`ours` after the entries already set whose names are not among ours. An entry of the
    admin's with one of Sunaba's names is replaced: those names are Sunaba's to define."""
    if isinstance(existing, LazyConfigValue):  # unset, or only appended to
        existing = existing.get_value([])
    names = {entry["name"] for entry in ours}
    kept = [entry for entry in (existing or []) if entry.get("name") not in names]
    return [*kept, *ours]


# A course synced while the hub runs reaches it through a reload (`sunaba.core.hubreload`):
# the pod restarts the hub's container, which composes this again with the new formgraders.
K8S_UPDATES = (
    update_auth,
    update_templates,
    update_services_in_cluster,
    update_areas,
)


def update_kubespawner(c, config: SiteConfig, facts: HubFacts) -> None:
    scopes = [scope for hook in area_hooks("server_scopes") for scope in hook(config)]
    if scopes:
        c.Spawner.server_token_scopes = [*DEFAULT_SERVER_SCOPES, *scopes]
    # Servers outlive a hub restart on Kubernetes (the chart's choice); do not undo it.
    c.JupyterHub.cleanup_servers = False


def k8s_hub_facts(config: SiteConfig, source: Path = Path(L.HUB_SOURCE_DIR)) -> HubFacts:
    tokens = read_secrets(StatePaths.from_config(config)).get("service_tokens", {})
    python = str(Path(config.hub.prefix) / "venv" / "bin" / "python")
    return HubFacts(
        sandbox_mode="kubernetes",
        hub_config_dir=source / "hub_config",
        service_tokens=tokens,
        python=python,
        areas=gather_areas(config),
    )


def apply_k8s(config: SiteConfig, c, facts: HubFacts) -> None:
    for update in (*K8S_UPDATES, update_kubespawner):
        update(c, config, facts)


def apply_in_hub(c) -> None:
    """Called from the chart's `hub.extraConfig`; the site config is mounted from the values."""
    config = load_config()
    paths = StatePaths.from_config(config)
    ensure_state_dir(paths)
    ensure_secrets(paths)

    # The shared volume starts empty: copy the catalogue into it, as `sunaba up` does.
    ensure_datasets_tree(config, Path(L.HUB_SOURCE_DIR) / "datasets")
    apply_k8s(config, c, k8s_hub_facts(config))
