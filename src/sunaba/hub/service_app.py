"""What Sunaba's own hub services are made of (the exchange, the check service, the admins'
roster page): the site config the hub hands them, where they listen, and, for those that people
open in a browser, hub OAuth and one page layout.

The hub identifies the caller on every request (`sunaba.hub.service_auth`); the OAuth callback
finishes a login with the very `HubOAuth` that began it; every page is rendered in
`templates/service_layout.html`, with the site's name and a link back to the hub. A service's own
templates extend that layout: `page_templates` finds it next to them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jinja2
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.httpserver import HTTPServer

from sunaba.config.schema import SiteConfig
from sunaba.hub.ports import listen_address

LAYOUT_DIR = Path(__file__).resolve().parent / "templates"
NOT_ALLOWED = "この機能を使う権限がありません"


def service_config(variable: str) -> SiteConfig:
    """The site config the hub put in the service's environment (`config.model_dump_json()`
    in $variable), with logging set up at the hub's level."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s %(name)s] %(message)s")
    config = SiteConfig.model_validate_json(os.environ[variable])
    logging.getLogger().setLevel(config.hub.log_level)
    return config


def serve(app: web.Application, *, max_body_size: int | None = None) -> tuple[str, int]:
    """Listen where the hub said ($JUPYTERHUB_SERVICE_URL, see `listen_address`), behind the
    hub's proxy (its X-Forwarded-* headers are taken); returns (host, port)."""
    host, port = listen_address(os.environ["JUPYTERHUB_SERVICE_URL"])
    HTTPServer(app, max_body_size=max_body_size, xheaders=True).listen(port, host)
    return host, port


def oauth_settings(hub_auth: HubOAuth) -> dict:
    """Application settings of a service that people log into through hub OAuth."""
    return {
        "hub_auth": hub_auth,
        "cookie_secret": os.urandom(32),
        "login_url": hub_auth.login_url,
    }


def page_templates(folder: Path) -> jinja2.Environment:
    """The templates in `folder`, which may extend Sunaba's page layout."""
    loader = jinja2.FileSystemLoader([str(folder), str(LAYOUT_DIR)])
    return jinja2.Environment(loader=loader, autoescape=True)


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """The callback must use the very HubOAuth instance that started the login: it keeps the
    PKCE code verifier of each login in memory."""

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]


class ServiceHandler(HubOAuthenticated, web.RequestHandler):
    """A handler of one of Sunaba's services; the application's settings hold its `hub_auth`
    (a `sunaba.hub.service_auth.FreshHubOAuth`, which asks the hub about every token)."""

    @property
    def hub_auth(self):
        return self.settings["hub_auth"]

    async def hub_model(self) -> dict | None:
        """The hub's model of the caller's token (None: no token, or one the hub refused).
        A token that may not reach this service is refused here, whoever holds it."""
        model = await self.hub_auth.get_user(self, sync=False)
        if model and not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            raise web.HTTPError(403, NOT_ALLOWED)
        return model

    def error_text(self, **kwargs) -> str:
        """What `write_error` says: the message an HTTPError was raised with, else the
        status's reason."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            return exc.log_message
        return self._reason
