"""The roster service: the admins' roster page (`sunaba.users.page`) as a hub service of its own,
at `/services/roster/`.

Run by the hub as a managed service, `python -m sunaba.users.roster_service`, as the hub's own
user: importing a roster writes the hub's database and the state dir. Admins reach it through
hub OAuth (JupyterHub's `admin` role may access every service; nobody else is given access), and
the page refuses anyone else itself. The service's own token reads the course groups (`read:groups`)
for the preview; the import goes through the hub's API as `sunaba users import` does.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import AsyncHubClient
from sunaba.hub.service_app import (
    OAuthCallbackHandler,
    oauth_settings,
    page_templates,
    serve,
    service_config,
)
from sunaba.hub.service_auth import FreshHubOAuth
from sunaba.users.page import MAX_UPLOAD, RosterPage, RosterTemplate

log = logging.getLogger("sunaba.roster")
SERVICE = "roster"
CONFIG_ENV = "SUNABA_ROSTER_SITE_CONFIG"
TEMPLATES = Path(__file__).resolve().parent / "templates"
# Larger bodies are cut off by the server; up to this the page itself says that the file is too
# large (`MAX_UPLOAD`), in Japanese.
MAX_BODY = 4 * MAX_UPLOAD


def routes(prefix: str) -> list[tuple]:
    return [
        (prefix, RosterPage),
        (url_path_join(prefix, r"template\.(csv|xlsx)"), RosterTemplate),
        (url_path_join(prefix, "oauth_callback"), OAuthCallbackHandler),
    ]


def make_app(
    config: SiteConfig, hub_auth: HubOAuth, hub: AsyncHubClient, prefix: str
) -> web.Application:
    # The upload and confirm forms carry the `_xsrf` token; a POST without it is refused.
    return web.Application(
        routes(prefix),
        **oauth_settings(hub_auth),
        xsrf_cookies=True,
        site_config=config,
        hub=hub,
        service_prefix=prefix,
        templates=page_templates(TEMPLATES),
    )


def main() -> None:
    config = service_config(CONFIG_ENV)
    # Every request is checked with the hub: a logged-out admin, or one who is no longer an
    # admin, is refused from the next request on.
    hub = AsyncHubClient(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE}/")
    app = make_app(config, FreshHubOAuth(), hub, prefix)
    host, port = serve(app, max_body_size=MAX_BODY)
    log.info("roster page listening on %s:%s", host, port)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
