"""The areas that add to the hub's config, found through entry points of the group
`sunaba.hub_areas` (pyproject.toml), as JupyterHub finds authenticators and spawners: each names
an area's `hub` module. An area that is registered but cannot be imported stops the hub with its
error; none is skipped without a word.

Each area module may define any of `HOOKS`:
    services(config, facts) -> list[dict]      entries for c.JupyterHub.services
    roles(config, facts) -> list[dict]         entries for c.JupyterHub.load_roles
    readonly_paths(config) -> list[str]        host dirs every sandbox sees read-only
    server_scopes(config) -> list[str]         extra scopes of learners' server tokens
    server_environment(config, facts) -> dict  extra variables of learners' servers
    service_commands(config) -> list           the area's services as VM units
    backup_paths(config) -> list               what a backup of the area keeps
    update(c, config, facts)                   traits no other area sets
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from types import ModuleType

GROUP = "sunaba.hub_areas"
HOOKS = frozenset(
    {
        "services",
        "roles",
        "readonly_paths",
        "server_scopes",
        "server_environment",
        "service_commands",
        "backup_paths",
        "update",
    }
)


class AreasMissing(RuntimeError):
    """No area is registered: Sunaba's package metadata is not installed."""


@cache
def registered() -> tuple[ModuleType, ...]:
    """The registered area modules, in the order of their names."""
    found = sorted(entry_points(group=GROUP), key=lambda entry: entry.name)
    if not found:
        raise AreasMissing(
            f"no entry points in group {GROUP}: install Sunaba (pip install .) before running it"
        )
    return tuple(entry.load() for entry in found)


def area_hooks(name: str) -> list:
    """Every registered area's hook `name` (one of HOOKS), in area order."""
    if name not in HOOKS:
        raise ValueError(f"unknown area hook {name!r}")
    return [hook for module in registered() if (hook := getattr(module, name, None))]
