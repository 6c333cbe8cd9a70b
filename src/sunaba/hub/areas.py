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
    gather(config) -> object                   what the area reads from disk, once, before
                                               composition; its other hooks find it in
                                               `facts.areas[<entry point name>]`
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
        "gather",
    }
)


class AreasMissing(RuntimeError):
    """No area is registered: Sunaba's package metadata is not installed."""


@cache
def named() -> tuple[tuple[str, ModuleType], ...]:
    """(entry point name, area module) of every registered area, in the order of the names."""
    found = sorted(entry_points(group=GROUP), key=lambda entry: entry.name)
    if not found:
        raise AreasMissing(
            f"no entry points in group {GROUP}: install Sunaba (pip install .) before running it"
        )
    return tuple((entry.name, entry.load()) for entry in found)


def registered() -> tuple[ModuleType, ...]:
    """The registered area modules, in the order of their names."""
    return tuple(module for _, module in named())


def gather_areas(config) -> dict[str, object]:
    """Each area's `gather(config)`, keyed by its name: the synced state the hub config is
    composed from, read once so that composing reads nothing."""
    return {name: module.gather(config) for name, module in named() if hasattr(module, "gather")}


def module_service(
    name: str, port: int, module: str, python: str, environment: dict[str, str], *, pages=False
) -> dict:
    """An entry for `c.JupyterHub.services` (a `services` hook's item): a Sunaba service that
    the hub starts as `python -m module` and reaches on a loopback port, given `environment`
    (the site config, as a rule). With `pages`, people open it in a browser, logged in through
    hub OAuth without a confirmation page: the service is the site's own."""
    spec = {
        "name": name,
        "url": f"http://127.0.0.1:{port}",
        "command": [python, "-m", module],
        "environment": {**environment, "LANG": "C.UTF-8"},
        "display": False,
    }
    if pages:
        spec["oauth_no_confirm"] = True
    return spec


def area_hooks(name: str) -> list:
    """Every registered area's hook `name` (one of HOOKS), in area order."""
    if name not in HOOKS:
        raise ValueError(f"unknown area hook {name!r}")
    return [hook for module in registered() if (hook := getattr(module, name, None))]
