"""The client of the JupyterHub REST API, for the admin tools, the classroom and showcase
services, and the CLI.

It has two faces over one error vocabulary: `HubClient` (synchronous, urllib) for the tools and
for work run in a thread, and `AsyncHubClient` (tornado) for the services' event loops and the
showcase CLI. Both read the hub's error message the same way (`error_message`) and raise
`HubApiError` when the hub refuses a request and `HubUnreachable` when nothing answers. Neither
goes through an http(s)_proxy from the environment: the API is on loopback or inside the
cluster.

`sunaba.exchange.client.find_service` also asks the hub's API, but stays apart: it runs inside
learners' servers (and as a portable copy in the nbgrader plugin), where only the standard
library may be imported, and it needs one GET only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from sunaba.core.state import StatePaths, read_secrets

PAGINATION = "application/jupyterhub-pagination+json"


class HubUnreachable(OSError):
    """Nothing answers at the hub API URL (the hub is not running), or the connection broke.

    An OSError, as the connection error it stands for: code that caught those still catches it.
    """

    def __init__(self, url: str, reason: object):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


class HubApiError(Exception):
    """The hub answered `status` with `message` (the hub's own words when it gave any).

    The text names the request when there is one: "GET /groups/x: HTTP 403 <message>"; else it
    is "403: <message>". A request series that broke off half-way (`sunaba.users.apply.sync_hub`)
    has no status: "<url>: <reason>".
    """

    def __init__(self, status: int | None, message: str, *, request: str = ""):
        if not request:
            text = f"{status}: {message}"
        elif status is None:
            text = f"{request}: {message}"
        else:
            text = f"{request}: HTTP {status} {message}"
        super().__init__(text)
        self.status = status
        self.message = message
        self.request = request


def error_message(raw: bytes) -> str:
    """The message of a hub error answer: its JSON "message", else the start of the body."""
    try:
        return str(json.loads(raw).get("message", ""))
    except (ValueError, AttributeError):
        return raw[:200].decode("utf-8", "replace")


def hub_api_url(config) -> str:
    """The hub's REST API on loopback, from the site config."""
    return f"http://127.0.0.1:{config.hub.hub_port}{config.hub.base_url}hub/api"


def admin_client(config, timeout: float) -> HubClient | None:
    """A client of the hub's API with the admin tools' token (`sunaba-admin`, kept in the
    state dir), or None when there is none yet."""
    tokens = read_secrets(StatePaths.from_config(config)).get("service_tokens", {})
    token = tokens.get("sunaba-admin")
    return HubClient(hub_api_url(config), token, timeout=timeout) if token else None


def public_hub_url(config) -> str:
    """The hub's public address (through the proxy) as this machine reaches it."""
    ip = config.hub.ip if config.hub.ip not in ("", "0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    host = f"[{ip}]" if ":" in ip else ip
    return f"http://{host}:{config.hub.port}{config.hub.base_url}"


# ----------------------------------------------------------------------------------------------
# Synchronous


class HubClient:
    """`call` returns (status, JSON body or None); statuses listed in `ok` are answers, not
    errors, so that callers can branch on 404 or 409 without catching."""

    def __init__(self, api_url: str, token: str, timeout: float):
        parsed = urllib.parse.urlparse(api_url)
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"hub API URL must be http(s): {api_url!r}")
        self.url = api_url
        self.base = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # Loopback API: never go through an http_proxy from the environment.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(
        self, method: str, path: str, body: object = None, ok: Iterable[int] = ()
    ) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.base + path, data=data, method=method
        )
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
            if status not in ok:
                raise HubApiError(
                    status, error_message(raw) or str(exc.reason), request=f"{method} {path}"
                ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise HubUnreachable(self.url, getattr(exc, "reason", exc)) from exc
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None


# ----------------------------------------------------------------------------------------------
# Asynchronous


@dataclass(frozen=True)
class AsyncHubClient:
    url: str  # e.g. http://127.0.0.1:8081/hub/api
    token: str

    async def request(self, method: str, path: str, body=None, *, paginated: bool = False):
        headers = {"Authorization": f"token {self.token}"}
        if paginated:
            headers["Accept"] = PAGINATION
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            response = await AsyncHTTPClient().fetch(
                self.url.rstrip("/") + path,
                method=method,
                headers=headers,
                body=data,
                allow_nonstandard_methods=True,
                request_timeout=30,
            )
        except HTTPClientError as exc:
            raw = exc.response.body if exc.response is not None else b""
            raise HubApiError(exc.code, error_message(raw or b"") or str(exc)) from exc
        except OSError as exc:
            raise HubUnreachable(self.url, exc) from exc
        if not response.body:
            return None
        return json.loads(response.body)

    async def all_pages(self, path: str) -> list[dict]:
        items: list[dict] = []
        offset = 0
        while True:
            sep = "&" if "?" in path else "?"
            page = await self.request("GET", f"{path}{sep}offset={offset}", paginated=True)
            if isinstance(page, list):  # a hub that does not paginate
                return page
            items += page["items"]
            next_page = page.get("_pagination", {}).get("next")
            if not next_page:
                return items
            offset = next_page["offset"]

    # -- users ----------------------------------------------------------------------------

    async def _found(self, path: str) -> dict | None:
        """GET `path`; None when the hub has no such thing (404)."""
        try:
            return await self.request("GET", path)
        except HubApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def user(self, name: str) -> dict | None:
        return await self._found(f"/users/{quote(name)}")

    # -- groups ---------------------------------------------------------------------------

    async def groups(self) -> list[dict]:
        return await self.all_pages("/groups")

    async def group(self, name: str) -> dict | None:
        return await self._found(f"/groups/{quote(name)}")

    async def create_group(self, name: str, properties: dict) -> None:
        await self.request("POST", f"/groups/{quote(name)}", {})
        await self.request("PUT", f"/groups/{quote(name)}/properties", properties)

    async def delete_group(self, name: str) -> None:
        await self.request("DELETE", f"/groups/{quote(name)}")

    async def add_to_group(self, name: str, users: list[str]) -> None:
        await self.request("POST", f"/groups/{quote(name)}/users", {"users": users})

    async def remove_from_group(self, name: str, users: list[str]) -> None:
        await self.request("DELETE", f"/groups/{quote(name)}/users", {"users": users})
