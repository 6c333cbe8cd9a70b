"""The tornado handler behind `/services/showcase/apps/<id>/…`: decides, then relays HTTP and
websockets to the app's Voilà server (see `proxy.py` for the rules)."""

from __future__ import annotations

import logging

from tornado import web
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketHandler

from sunaba.showcase.access import can_view
from sunaba.showcase.core import Showcase
from sunaba.showcase.handlers import ShowcaseHandler
from sunaba.showcase.proxy import (
    DROP_RESPONSE,
    KernelIdScanner,
    KernelLedger,
    PathRefused,
    UpstreamSocket,
    app_response_headers,
    classify,
    fetch_streaming,
    upstream_request_headers,
)
from sunaba.showcase.runner import AppProcess
from sunaba.showcase.thumbnails import THUMBNAIL_HEADER

log = logging.getLogger("sunaba.showcase")


class AppHandler(ShowcaseHandler, WebSocketHandler):
    """One handler for both kinds of request, as a websocket upgrade arrives as a GET."""

    upstream: UpstreamSocket | None = None

    @property
    def ledger(self) -> KernelLedger:
        return self.settings["kernel_ledger"]

    async def prepare(self):
        # Identity is looked up only for the app's content (see `_authorise`): assets and
        # kernel requests from the sandboxed page carry no cookies anyway.
        self.viewer = None

    def check_origin(self, origin):
        # The app's page has an opaque origin ("null"); the kernel id is the capability.
        return True

    def select_subprotocol(self, subprotocols):
        self.offered_subprotocols = list(subprotocols)
        return subprotocols[0] if subprotocols else None

    # -- deciding -------------------------------------------------------------------------

    async def _authorise(self, app_id: str, rest: str):
        showcase: Showcase = self.showcase
        app = showcase.app(int(app_id))
        if app is None or app.status != "live":
            raise web.HTTPError(404, reason="app not found")
        try:
            kind, kernel_id = classify(rest)
        except PathRefused:
            raise web.HTTPError(400, reason="path refused") from None
        if kind == "missing":
            raise web.HTTPError(404, reason="not part of the app")
        if kind == "kernel":
            if not self.ledger.known(app.id, kernel_id):
                raise web.HTTPError(403, reason="unknown kernel")
        elif kind == "content" and not self._open_to_all(app):
            await self.identify()
            if not can_view(app, self.viewer):
                if self.viewer is None and self.request.method == "GET":
                    self.redirect(self.get_login_url())
                    return None
                raise web.HTTPError(403, reason="not allowed")
        return app, kind, kernel_id

    def _open_to_all(self, app) -> bool:
        return app.visibility == "public" or self._thumbnail_pass(app.id)

    def _thumbnail_pass(self, app_id: int) -> bool:
        presented = self.request.headers.get(THUMBNAIL_HEADER)
        return self.showcase.thumbnails.pass_ok(app_id, presented)

    def _process(self, app) -> AppProcess | None:
        return self.showcase.process(app)

    # -- HTTP -------------------------------------------------------------------------------

    async def get(self, app_id: str, rest: str = ""):
        decided = await self._authorise(app_id, rest)
        if decided is None:
            return
        app, kind, kernel_id = decided
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            if kind != "kernel":
                raise web.HTTPError(400, reason="websocket only for kernels")
            self.app_id, self.kernel_id = app.id, kernel_id
            return await WebSocketHandler.get(self, app_id, rest)
        await self._relay(app, kind)

    async def post(self, app_id: str, rest: str = ""):
        await self._relay_decided(app_id, rest)

    async def put(self, app_id: str, rest: str = ""):
        await self._relay_decided(app_id, rest)

    async def patch(self, app_id: str, rest: str = ""):
        await self._relay_decided(app_id, rest)

    async def delete(self, app_id: str, rest: str = ""):
        await self._relay_decided(app_id, rest)

    async def head(self, app_id: str, rest: str = ""):
        await self._relay_decided(app_id, rest)

    async def _relay_decided(self, app_id: str, rest: str) -> None:
        decided = await self._authorise(app_id, rest)
        if decided is not None:
            await self._relay(decided[0], decided[1])

    async def _relay(self, app, kind: str) -> None:
        process = self._process(app)
        if process is None:
            if kind == "content" and self.request.method == "GET":
                self.set_status(200)
                self.render_page(
                    "starting.html", app=app, failed=app.id in self.showcase.runner.failures
                )
                return
            raise web.HTTPError(503, reason="app starting")
        scanner = KernelIdScanner() if kind == "content" else None
        method = self.request.method
        request = HTTPRequest(
            f"http://{process.host}{self.request.uri}",
            method=method,
            headers=upstream_request_headers(self.request.headers),
            body=self.request.body if method in ("POST", "PUT", "PATCH", "DELETE") else None,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            decompress_response=False,
            request_timeout=3600,
            connect_timeout=10,
        )

        def on_headers(status: int, headers) -> None:
            self.set_status(status)
            self.clear_header("Content-Type")
            for name, value in headers.get_all():
                if name.lower() not in DROP_RESPONSE:
                    self.add_header(name, value)
            content_type = headers.get("Content-Type", "")
            if content_type.startswith("text/html") and "charset" not in content_type:
                # Voilà writes UTF-8 but does not say so; say it for clients without a sniffer.
                self.set_header("Content-Type", "text/html; charset=utf-8")
            for name, value in app_response_headers().items():
                self.set_header(name, value)

        def on_chunk(chunk: bytes) -> None:
            if scanner is not None:
                before = len(scanner.found)
                scanner.feed(chunk)
                if len(scanner.found) != before:
                    for found in scanner.found:
                        self.ledger.issue(app.id, found)
            self.write(chunk)
            self.flush()

        try:
            await fetch_streaming(self.showcase.sockets.http, request, on_headers, on_chunk)
        except (ConnectionError, OSError) as exc:
            log.warning("app %s did not answer: %s", app.id, exc)
            if not self._headers_written:
                raise web.HTTPError(502, reason="app did not answer") from exc
        if not self._finished:
            self.finish()

    # -- websockets -------------------------------------------------------------------------

    async def open(self, app_id: str, rest: str = ""):
        app = self.showcase.app(int(app_id))
        process = self._process(app) if app is not None else None
        if process is None:
            self.close(1011, "app not running")
            return
        self.ledger.opened(self.app_id, self.kernel_id)
        self.upstream = UpstreamSocket(self._from_app, self._app_closed)
        try:
            await self.upstream.connect(
                f"ws://{process.host}{self.request.uri}",
                {"Host": self.request.host},
                getattr(self, "offered_subprotocols", None) or None,
                self.showcase.sockets.resolver,
            )
        except Exception as exc:  # the app went away between page and websocket
            log.info("websocket to app %s failed: %s", app_id, exc)
            self.close(1011, "app not reachable")

    def _from_app(self, message) -> None:
        try:
            self.write_message(message, binary=isinstance(message, bytes))
        except Exception:  # the viewer left meanwhile
            self._app_closed()

    def _app_closed(self) -> None:
        if self.ws_connection is not None:
            self.close()

    async def on_message(self, message):
        if self.upstream is not None:
            self.upstream.send(message)

    def on_close(self):
        if getattr(self, "kernel_id", None):
            self.ledger.closed(self.app_id, self.kernel_id)
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
