"""Area hooks: the admins' roster page as a hub service of its own (`sunaba.users.roster_service`,
at `/services/roster/`), and the role that lets it read the course groups.

No role gives anyone access to it: JupyterHub's `admin` role already reaches every service, and
the page refuses a caller who is not an admin itself. It runs as the hub's own user (no `user`
key): an import writes the hub's database and the state dir.
"""

from __future__ import annotations

from sunaba.config.schema import SiteConfig
from sunaba.deploy.k8s_services import ROSTER_PORT
from sunaba.hub.areas import module_service
from sunaba.hub.ports import derived_port
from sunaba.users.roster_service import CONFIG_ENV, SERVICE

# What the service's own token does: read which course groups exist and who is in them, for
# the preview. The import itself uses the admin tools' token, as `sunaba users import` does.
SERVICE_SCOPES = ["read:groups"]


def service_port(config: SiteConfig, facts) -> int:
    if facts.sandbox_mode == "kubernetes":
        return ROSTER_PORT  # the port the chart opens on the hub Service
    # Below Linux's ephemeral range (32768-), apart from the courses' 20000-29999 and the
    # check service's 30000-31999.
    return derived_port(f"roster:{config.hub.state_dir}", 32000, 768)


def services(config: SiteConfig, facts) -> list[dict]:
    environment = {CONFIG_ENV: config.model_dump_json()}
    port = service_port(config, facts)
    module = "sunaba.users.roster_service"
    return [module_service(SERVICE, port, module, facts.python, environment, pages=True)]


def roles(config: SiteConfig, facts) -> list[dict]:
    return [
        {
            "name": "roster-service",
            "description": "The admins' roster page shows which course groups a roster would "
            "create and whom it would add to them.",
            "scopes": list(SERVICE_SCOPES),
            "services": [SERVICE],
        }
    ]
