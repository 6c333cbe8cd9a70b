"""The showcase hub service: `python -m sunaba.showcase.service`, started and stopped by the hub.

It reads the site config the way the hub does (the hub passes the same `SUNABA_*` environment),
listens on loopback at the URL the hub gave it, and runs until the hub stops it (SIGTERM) or the
hub itself goes away; either way it stops every app it started.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
from pathlib import Path

import jinja2
from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import web

from sunaba.config import load_config
from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import AsyncHubClient
from sunaba.hub.ports import listen_address
from sunaba.records.db import default_records_url, ensure_records_schema, make_session_factory
from sunaba.showcase.api import (
    AppAPI,
    AppsAPI,
    LeftoversAPI,
    NotebooksAPI,
    PurgeAPI,
    RestoreAPI,
    StatusAPI,
    TeamsAPI,
)
from sunaba.showcase.apphandler import AppHandler
from sunaba.showcase.core import DEFAULT_SERVERS_URL, Showcase
from sunaba.showcase.handlers import (
    GalleryPage,
    ManagePage,
    PublishPage,
    TeamsPage,
    ThumbnailHandler,
)
from sunaba.showcase.labmenu import ensure_lab_menu
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.proxy import KernelLedger, reaper
from sunaba.showcase.runner import app_base_url
from sunaba.showcase.sockets import SocketDirectory
from sunaba.showcase.store import ensure_store

log = logging.getLogger("sunaba.showcase")
HERE = Path(__file__).resolve().parent
MODE_ENV = "SUNABA_SHOWCASE_MODE"
# Kubernetes: where learners' servers are reached from the hub pod (default: the proxy Service).
SERVERS_URL_ENV = "SUNABA_SHOWCASE_SERVERS_URL"


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    if path.is_file():
        return path.read_text().strip()
    value = secrets.token_hex(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def routes(prefix: str) -> list:
    return [
        (prefix, GalleryPage),
        (prefix + "publish", PublishPage),
        (prefix + r"manage/(\d+)", ManagePage),
        (prefix + "teams", TeamsPage),
        (prefix + r"thumbs/(\d+)/v(\d+)\.png", ThumbnailHandler),
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
        (prefix + "api/apps", AppsAPI),
        (prefix + r"api/apps/(\d+)", AppAPI),
        (prefix + r"api/apps/(\d+)/restore", RestoreAPI),
        (prefix + r"api/apps/(\d+)/purge", PurgeAPI),
        (prefix + "api/leftovers/purge", LeftoversAPI),
        (prefix + "api/notebooks", NotebooksAPI),
        (prefix + "api/teams", TeamsAPI),
        (prefix + "api/status", StatusAPI),
        (prefix + r"apps/(\d+)", web.RedirectHandler, {"url": prefix + "apps/{0}/"}),
        (prefix + r"apps/(\d+)/(.*)", AppHandler),
    ]


def make_app(
    showcase: Showcase,
    *,
    prefix: str,
    cookie_secret: str,
    admin_key: str,
    hub_base_url: str,
    site_name: str,
    ledger: KernelLedger,
) -> web.Application:
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True
    )
    return web.Application(
        routes(prefix),
        showcase=showcase,
        service_prefix=prefix,
        cookie_secret=cookie_secret,
        admin_key=admin_key,
        hub_base_url=hub_base_url,
        site_name=site_name,
        jinja=jinja,
        kernel_ledger=ledger,
        websocket_ping_interval=30,
        websocket_max_message_size=64 * 1024 * 1024,
    )


async def watch_parent(stop: asyncio.Event, every: float = 2.0) -> None:
    """The hub started us; if it dies without stopping us, stop too (and take the apps along)."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(every)
        if os.getppid() != parent:
            log.warning("the hub went away; stopping the showcase")
            stop.set()


async def start_up(showcase: Showcase, start_apps: bool) -> None:
    """Remove what apps that are no longer live left behind, then bring the live ones up."""
    try:
        removed = await showcase.purge_leftovers()
    except Exception:  # a leftover that cannot go must not keep the live apps down
        log.exception("removing apps' leftovers failed")
    else:
        if removed:
            log.info("removed the accounts of apps that are not live: %s", ", ".join(removed))
    if start_apps:
        await showcase.start_all()


async def open_showcase(config: SiteConfig, mode: str, prefix: str, port: int) -> Showcase:
    """The store and the records made ready, and the showcase over them."""
    hub = AsyncHubClient(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    paths = ShowcasePaths.from_config(config)
    ensure_store(paths)
    records_url = default_records_url(config)
    await asyncio.to_thread(ensure_records_schema, records_url)
    return Showcase(
        config,
        mode,
        service_prefix=prefix,
        service_url=f"http://127.0.0.1:{port}",
        hub=hub,
        sessions=make_session_factory(records_url),
        sockets=SocketDirectory(),
        servers_url=os.environ.get(SERVERS_URL_ENV, DEFAULT_SERVERS_URL),
    )


def announce(paths: ShowcasePaths, port: int, prefix: str) -> None:
    """Where the CLI finds the running service."""
    paths.service_info.write_text(
        json.dumps({"url": f"http://127.0.0.1:{port}{prefix}", "pid": os.getpid()})
    )
    paths.service_info.chmod(0o600)


def start_background(
    showcase: Showcase, ledger: KernelLedger, prefix: str, stop: asyncio.Event
) -> list[asyncio.Future]:
    """The service's work besides answering requests, until it stops."""
    return [
        asyncio.ensure_future(showcase.supervise()),
        asyncio.ensure_future(
            reaper(
                ledger,
                showcase.runner.current,
                showcase.sockets.http,
                lambda app_id: app_base_url(prefix, app_id),
            )
        ),
        asyncio.ensure_future(watch_parent(stop)),
        asyncio.ensure_future(start_up(showcase, showcase.config.showcase.start_at_boot)),
    ]


async def serve(config: SiteConfig) -> None:
    mode = os.environ.get(MODE_ENV, "full")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/showcase/")
    host, port = listen_address(os.environ["JUPYTERHUB_SERVICE_URL"])
    hub_base_url = os.environ.get("JUPYTERHUB_BASE_URL", config.hub.base_url)
    showcase = await open_showcase(config, mode, prefix, port)
    paths = showcase.paths
    ensure_lab_menu(paths, hub_base_url)
    ledger = KernelLedger()
    app = make_app(
        showcase,
        prefix=prefix,
        cookie_secret=read_or_create_secret(paths.cookie_secret),
        admin_key=read_or_create_secret(paths.admin_key),
        hub_base_url=hub_base_url,
        site_name=config.site.name,
        ledger=ledger,
    )
    server = app.listen(port, host, xheaders=True)
    announce(paths, port, prefix)
    log.info("showcase listening on %s:%s%s (sandbox mode %s)", host, port, prefix, mode)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = start_background(showcase, ledger, prefix, stop)
    try:
        await stop.wait()
    finally:
        log.info("showcase stopping")
        server.stop()
        for task in tasks:
            task.cancel()
        showcase.runner.stop_all()
        paths.service_info.unlink(missing_ok=True)
        log.info("showcase stopped")


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("SUNABA_LOG_LEVEL", "INFO"),
        format="[%(levelname)1.1s %(asctime)s showcase] %(message)s",
    )
    config = load_config()
    logging.getLogger().setLevel(config.hub.log_level)
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
