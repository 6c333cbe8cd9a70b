"""Area hooks: the showcase service, its role, and the scope that lets hub users reach it.

The service runs as a managed hub service (`command`), so the hub starts and stops it with itself
and hands it its API token; no token is stored for it.
"""

from __future__ import annotations

import os
import socket

from sunaba.config.schema import SiteConfig
from sunaba.hub.scopes import add_user_scopes
from sunaba.showcase.paths import SERVICE_NAME

# What the service does with its token: look up a viewer's groups and admin flag (to apply team
# visibility), and create teams and change their members for instructors (team page).
SERVICE_SCOPES = [
    "read:users:name",
    "read:users:groups",
    "admin:groups",
]
# Every hub user may open the showcase (what each sees there is the service's decision).
USER_SCOPES = [f"access:services!service={SERVICE_NAME}"]
# …and look it up in the hub (its URL and prefix: what `sunaba showcase publish` needs).
LOOKUP_SCOPE = f"read:services!service={SERVICE_NAME}"
# The showcase's address in a learner's server, for `sunaba showcase publish` in its terminal.
URL_ENV = "SUNABA_SHOWCASE_URL"
# On Kubernetes what a viewer's OAuth token of the showcase may do on their behalf: see whether
# their own server runs and read their notebook from it (`author_server`). `!user` limits both
# to the token's owner, so the showcase can open an author's server only while that author
# publishes, and never anyone else's.
AUTHOR_SERVER_SCOPES = ["read:servers!user", "access:servers!user"]
# What the hub's own environment passes on: the same site config and isolation level, and on
# Kubernetes where learners' servers are reached (`service.SERVERS_URL_ENV`).
PASSED_ENV_PREFIXES = ("SUNABA_CONFIG", "SUNABA_SOURCE", "SUNABA__", "SUNABA_SHOWCASE_SERVERS_URL")


# Where apps can get a sandbox: their own account and namespaces on one machine, their own pod
# on Kubernetes (`k8s_runner`).
APP_SANDBOX_MODES = ("full", "bubblewrap", "kubernetes")


def enabled(config: SiteConfig, facts) -> bool:
    return config.showcase.enabled and facts.sandbox_mode in APP_SANDBOX_MODES


# Free ports picked in this process, per state dir: applying the same config twice gives the
# same hub config, while two hubs on one machine (tests) never fight over a fixed port.
_PICKED_PORTS: dict[str, int] = {}


def service_port(config: SiteConfig) -> int:
    """The configured port, or a free loopback port picked once (the hub registers the route)."""
    if config.showcase.port:
        return config.showcase.port
    key = config.hub.state_dir
    if key not in _PICKED_PORTS:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            _PICKED_PORTS[key] = sock.getsockname()[1]
    return _PICKED_PORTS[key]


def service_environment(facts) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.startswith(PASSED_ENV_PREFIXES)}
    env["SUNABA_SHOWCASE_MODE"] = facts.sandbox_mode
    return env


def services(config: SiteConfig, facts) -> list[dict]:
    if not enabled(config, facts):
        return []
    return [
        {
            "name": SERVICE_NAME,
            "display": True,
            "info": {"title": "ショーケース"},
            "url": f"http://127.0.0.1:{service_port(config)}",
            "command": [facts.python, "-m", "sunaba.showcase.service"],
            "environment": service_environment(facts),
            "oauth_no_confirm": True,
            **author_server_access(facts),
        }
    ]


def author_server_access(facts) -> dict:
    """Only on Kubernetes, where authors' homes are not on the showcase's machine."""
    if facts.sandbox_mode != "kubernetes":
        return {}
    return {"oauth_client_allowed_scopes": list(AUTHOR_SERVER_SCOPES)}


def roles(config: SiteConfig, facts) -> list[dict]:
    if not enabled(config, facts):
        return []
    return [{"name": "showcase-service", "scopes": SERVICE_SCOPES, "services": [SERVICE_NAME]}]


def server_scopes(config: SiteConfig) -> list[str]:
    """A learner's server token may call the showcase as that learner, so that
    `sunaba showcase publish` works from their JupyterLab terminal; the service still decides
    everything from who the caller is (only a team's members publish for it).

    Only `access:services`, never `read:services!service=showcase`: once a token holds any
    `read:services` filter, the hub answers a service it may not read with 404 instead of 403,
    and nbgrader's exchange plugin takes 404 for an error (a learner in no course then sees the
    assignment list fail). The terminal finds the showcase through `server_environment`."""
    return list(USER_SCOPES) if config.showcase.enabled else []


def showcase_url(config: SiteConfig) -> str:
    """The service's own address with its prefix, as the hub's service model would give it."""
    prefix = f"{config.hub.base_url}services/{SERVICE_NAME}/"  # base_url ends in "/"
    return f"http://127.0.0.1:{service_port(config)}{prefix}"


def server_environment(config: SiteConfig, facts) -> dict[str, str]:
    """Where a learner's server reaches the showcase on one machine (its loopback port, which
    the network policy lets learners reach). On Kubernetes learners' pods never call it."""
    if not enabled(config, facts) or facts.sandbox_mode == "kubernetes":
        return {}
    return {URL_ENV: showcase_url(config)}


def update(c, config: SiteConfig, facts) -> None:
    if not enabled(config, facts):
        return
    add_user_scopes(c, [*USER_SCOPES, LOOKUP_SCOPE])
