"""The trusted exchange: a hub service that releases, hands out, receives and returns files.

Learners' nbgrader (through `sunaba.exchange.plugin`) and the formgraders call its JSON/tar API
(`learner_api`, `staff_api`) with their hub token; people open its pages (マイコース, the
instructor's course page) through hub OAuth. Every request is identified by the hub (`Caller`,
see `handler_base`), and every file lives in the `ExchangeStore` inside the state dir.

Run by the hub as a managed service: `python -m sunaba.classroom.service`.
"""

from __future__ import annotations

import asyncio
import logging
import os

from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from sunaba.classroom.handler_base import BaseHandler, Exchange
from sunaba.classroom.learner_api import (
    CoursesHandler,
    FeedbackHandler,
    FilesHandler,
    SubmissionsHandler,
    SubmitHandler,
)
from sunaba.classroom.staff_api import (
    CollectHandler,
    ExecuteHandler,
    FeedbackReleaseHandler,
    ReleaseHandler,
)
from sunaba.core.layout import EXCHANGE_SERVICE, exchange_root
from sunaba.exchange import solutions
from sunaba.exchange.store import ExchangeStore
from sunaba.hub.service_app import OAuthCallbackHandler, oauth_settings, serve, service_config
from sunaba.hub.service_auth import FreshHubOAuth

log = logging.getLogger("sunaba.exchange")
CONFIG_ENV = "SUNABA_EXCHANGE_SITE_CONFIG"


def make_app(exchange: Exchange, hub_auth: HubOAuth, prefix: str, pages) -> web.Application:
    name = r"([a-z][a-z0-9_-]{0,39})"
    course = r"([a-z][a-z0-9-]{1,22})"
    stamp = r"(\d{8}T\d{6}\.\d{6}Z)"
    api = url_path_join(prefix, "api")
    routes = [
        (f"{api}/courses", CoursesHandler),
        (f"{api}/courses/{course}/submissions", SubmissionsHandler),
        (f"{api}/courses/{course}/assignments/{name}/files", FilesHandler),
        (f"{api}/courses/{course}/assignments/{name}/submissions", SubmitHandler),
        (f"{api}/courses/{course}/assignments/{name}/feedback/{stamp}", FeedbackHandler),
        (f"{api}/courses/{course}/assignments/{name}/release", ReleaseHandler),
        (f"{api}/courses/{course}/assignments/{name}/collect", CollectHandler),
        (f"{api}/courses/{course}/assignments/{name}/execute", ExecuteHandler),
        (
            f"{api}/courses/{course}/assignments/{name}/feedback/{name}/{stamp}",
            FeedbackReleaseHandler,
        ),
        solutions.route(api, course, name, BaseHandler),
        (url_path_join(prefix, "oauth_callback"), OAuthCallbackHandler),
        *pages.routes(prefix, BaseHandler),
    ]
    return web.Application(
        routes,
        **oauth_settings(hub_auth),
        xsrf_cookies=False,
        exchange=exchange,
        pages=pages,
        grading_lock=asyncio.Lock(),
    )


def main() -> None:
    config = service_config(CONFIG_ENV)
    # The service process alone needs its pages; the hub imports this module for the spec.
    from sunaba.classroom.events import RecordsEvents
    from sunaba.classroom.pages import Pages

    store = ExchangeStore(exchange_root(config))
    for folder in store.remove_unfinished_submissions():
        log.warning("removed an unfinished submission left by an earlier run: %s", folder)
    events = RecordsEvents.from_config(config)
    exchange = Exchange(config, store, events)
    # Every request is checked with the hub: a revoked token or a learner just removed from a
    # course is refused from the next request on.
    hub_auth = FreshHubOAuth()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{EXCHANGE_SERVICE}/")
    pages = Pages(config, events)
    app = make_app(exchange, hub_auth, prefix, pages)
    host, port = serve(app, max_body_size=exchange.max_bytes + 1)
    log.info("exchange listening on %s:%s", host, port)
    loop = IOLoop.current()
    loop.add_callback(events.reconcile_groups_soon)
    loop.start()


if __name__ == "__main__":
    main()
