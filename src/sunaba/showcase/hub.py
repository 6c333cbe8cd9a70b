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
    """None for now. Giving learners' server tokens the showcase scopes (so that
    `sunaba showcase publish` works from the JupyterLab terminal) made the assignment list of a
    learner in no course fail with nbgrader's "exchange directory does not exist"
    (tests/integration/courses/test_enrolment_changes.py); until that is understood, publishing
    is done from the publish page, and the CLI from an admin's shell."""
    return []


def update(c, config: SiteConfig, facts) -> None:
    if not enabled(config, facts):
        return
    add_user_scopes(c, [*USER_SCOPES, LOOKUP_SCOPE])
