"""Viewers reach an app's Voilà server through the service, which decides every request.

Four kinds of paths under `/services/showcase/apps/<id>/`:
- Voilà's own assets (`voila/static/`, `voila/templates/`, `voila/labextensions/`,
  `voila/api/themes/`): the same for every app, served to anyone;
- one viewer's kernel (`api/kernels/<uuid>…`, `voila/query/<uuid>`, `voila/api/shutdown/<uuid>`):
  allowed only for kernel ids this service handed out in a page it authorised (a capability);
- the page itself and the rest of `voila/…` (`voila/files/…`): the app's visibility decides;
- anything else (`chart.png`, `api/kernels`): nothing, answered 404 here. Voilà would answer
  every such path with the whole page and a new kernel, e.g. for each image a Markdown cell
  names that was not published with the notebook.

Every response carries `Content-Security-Policy: sandbox …` without `allow-same-origin`: the app's
page (HTML and scripts written by its authors) runs in an opaque origin, so it can neither read the
hub's cookies nor call the hub's API as the viewer. Cookies and Authorization headers never reach
the app, and cookies it tries to set are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders
from tornado.websocket import WebSocketClosedError, websocket_connect

log = logging.getLogger("sunaba.showcase")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
KERNEL_PATH = re.compile(
    rf"^(?:api/kernels/(?P<a>{UUID})(?:/channels)?|voila/query/(?P<b>{UUID})"
    rf"|voila/api/shutdown/(?P<c>{UUID}))$"
)
PUBLIC_PREFIXES = ("voila/static/", "voila/templates/", "voila/labextensions/", "voila/api/themes/")
KERNEL_ID_IN_PAGE = re.compile(rf'"kernelId":\s*"({UUID})"'.encode())
APP_CSP = (
    "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads; "
    "frame-ancestors 'self'"
)
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
DROP_REQUEST = HOP_BY_HOP | {"cookie", "authorization", "x-sunaba-thumbnail", "content-length"}
DROP_RESPONSE = HOP_BY_HOP | {
    "set-cookie",
    "content-security-policy",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "server",
    "content-length",
}
# A kernel whose page was served but whose websocket never came (a crawler, a script) and a
# kernel whose viewer left are shut down after these many seconds.
NEVER_CONNECTED_GRACE = 60.0
AFTER_CLOSE_GRACE = 20.0


class PathRefused(Exception):
    pass


def classify(rest: str) -> tuple[str, str | None]:
    """('asset' | 'kernel' | 'content' | 'missing', kernel id) for the part of the URL after the
    app's base.

    Raises PathRefused for anything that tries to climb out (`..`, encoded slashes) or reach the
    launcher's own status route.
    """
    decoded = unquote(rest)
    lowered = rest.lower()
    if (
        "\\" in decoded
        or "\x00" in decoded
        or "%2f" in lowered
        or "%5c" in lowered
        or "%2e" in lowered
        or any(part in ("..", ".") for part in decoded.split("/"))
    ):
        raise PathRefused(rest)
    if decoded.startswith("_sunaba"):
        raise PathRefused(rest)
    match = KERNEL_PATH.match(decoded)
    if match:
        return "kernel", match.group("a") or match.group("b") or match.group("c")
    if decoded.startswith(PUBLIC_PREFIXES):
        return "asset", None
    if decoded and not decoded.startswith("voila/"):
        return "missing", None
    return "content", None


def upstream_request_headers(headers: HTTPHeaders) -> dict[str, str]:
    return {k: v for k, v in headers.get_all() if k.lower() not in DROP_REQUEST}


def app_response_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": APP_CSP,
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@dataclass
class KernelEntry:
    issued: float = field(default_factory=time.monotonic)
    connections: int = 0
    ever_connected: bool = False
    last_close: float = 0.0


class KernelLedger:
    """Kernel ids handed out per app: the capability viewers' kernel requests must present."""

    def __init__(self) -> None:
        self.kernels: dict[int, dict[str, KernelEntry]] = {}

    def issue(self, app_id: int, kernel_id: str) -> None:
        self.kernels.setdefault(app_id, {}).setdefault(kernel_id, KernelEntry())

    def known(self, app_id: int, kernel_id: str) -> bool:
        return kernel_id in self.kernels.get(app_id, {})

    def opened(self, app_id: int, kernel_id: str) -> None:
        entry = self.kernels.get(app_id, {}).get(kernel_id)
        if entry is not None:
            entry.connections += 1
            entry.ever_connected = True

    def closed(self, app_id: int, kernel_id: str) -> None:
        entry = self.kernels.get(app_id, {}).get(kernel_id)
        if entry is not None:
            entry.connections = max(0, entry.connections - 1)
            entry.last_close = time.monotonic()

    def forget_app(self, app_id: int) -> None:
        self.kernels.pop(app_id, None)

    def abandoned(self, now: float | None = None) -> list[tuple[int, str]]:
        now = now if now is not None else time.monotonic()
        found = []
        for app_id, entries in self.kernels.items():
            for kernel_id, entry in entries.items():
                if entry.connections:
                    continue
                if entry.ever_connected:
                    gone = now - entry.last_close > AFTER_CLOSE_GRACE
                else:
                    gone = now - entry.issued > NEVER_CONNECTED_GRACE
                if gone:
                    found.append((app_id, kernel_id))
        return found

    def drop(self, app_id: int, kernel_id: str) -> None:
        self.kernels.get(app_id, {}).pop(kernel_id, None)


class KernelIdScanner:
    """Finds kernel ids in a page as it streams past, also across chunk boundaries."""

    def __init__(self) -> None:
        self.tail = b""
        self.found: set[str] = set()

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        self.found.update(m.group(1).decode() for m in KERNEL_ID_IN_PAGE.finditer(data))
        self.tail = data[-128:]


async def fetch_streaming(http, request: HTTPRequest, on_headers, on_chunk) -> int:
    """Fetch with headers delivered before the body, chunk by chunk; return the status code."""
    state: dict = {"status": 502, "headers": HTTPHeaders(), "started": False}

    def header_line(line: str) -> None:
        line = line.rstrip("\r\n")
        if line.startswith("HTTP/"):
            state["status"] = int(line.split(" ", 2)[1])
            state["headers"] = HTTPHeaders()
        elif line:
            state["headers"].parse_line(line)

    def body_chunk(chunk: bytes) -> None:
        if not state["started"]:
            state["started"] = True
            on_headers(state["status"], state["headers"])
        on_chunk(chunk)

    request.header_callback = header_line
    request.streaming_callback = body_chunk
    try:
        response = await http.fetch(request, raise_error=False)
    except HTTPClientError as exc:  # connection-level failure
        raise ConnectionError(str(exc)) from exc
    if not state["started"]:
        on_headers(response.code, state["headers"] or response.headers)
    return response.code


async def shut_down_kernel(http, host: str, base_url: str, kernel_id: str) -> None:
    try:
        await http.fetch(
            f"http://{host}{base_url}api/kernels/{kernel_id}",
            method="DELETE",
            request_timeout=10,
            raise_error=False,
        )
    except (OSError, HTTPClientError) as exc:
        log.debug("could not shut down kernel %s: %s", kernel_id, exc)


class UpstreamSocket:
    """The service's side of a proxied websocket: connects to the app and relays messages."""

    def __init__(self, on_message, on_close):
        self.connection = None
        self.on_message = on_message
        self.on_close = on_close

    async def connect(self, url: str, headers: dict, subprotocols, resolver) -> None:
        request = HTTPRequest(url, headers=headers, connect_timeout=10, request_timeout=None)
        self.connection = await websocket_connect(
            request,
            on_message_callback=self._relay,
            subprotocols=subprotocols,
            resolver=resolver,
            max_message_size=64 * 1024 * 1024,
        )

    @property
    def selected_subprotocol(self) -> str | None:
        return self.connection.selected_subprotocol if self.connection else None

    def _relay(self, message) -> None:
        if message is None:
            self.on_close()
        else:
            self.on_message(message)

    def send(self, message) -> None:
        if self.connection is None:
            return
        try:
            self.connection.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            self.on_close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


async def reap_abandoned_kernels(ledger: KernelLedger, find_process, http, base_url_of) -> None:
    """One pass: shut down kernels no viewer is using any more (see the grace periods)."""
    for app_id, kernel_id in ledger.abandoned():
        ledger.drop(app_id, kernel_id)
        process = find_process(app_id)
        if process is not None:
            await shut_down_kernel(http, process.host, base_url_of(app_id), kernel_id)


async def reaper(ledger: KernelLedger, find_process, http, base_url_of, every: float = 5.0):
    while True:
        await asyncio.sleep(every)
        try:
            await reap_abandoned_kernels(ledger, find_process, http, base_url_of)
        except Exception:  # keep reaping whatever one pass met
            log.exception("reaping kernels failed")
