"""A small async client of the JupyterHub REST API, for the service and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

PAGINATION = "application/jupyterhub-pagination+json"


class HubApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


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
            message = ""
            if exc.response is not None and exc.response.body:
                try:
                    message = json.loads(exc.response.body).get("message", "")
                except ValueError:
                    message = exc.response.body.decode(errors="replace")[:200]
            raise HubApiError(exc.code, message or str(exc)) from exc
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

    async def user(self, name: str) -> dict | None:
        try:
            return await self.request("GET", f"/users/{quote(name)}")
        except HubApiError as exc:
            if exc.status == 404:
                return None
            raise

    # -- groups ---------------------------------------------------------------------------

    async def groups(self) -> list[dict]:
        return await self.all_pages("/groups")

    async def group(self, name: str) -> dict | None:
        try:
            return await self.request("GET", f"/groups/{quote(name)}")
        except HubApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def create_group(self, name: str, properties: dict) -> None:
        await self.request("POST", f"/groups/{quote(name)}", {})
        await self.request("PUT", f"/groups/{quote(name)}/properties", properties)

    async def delete_group(self, name: str) -> None:
        await self.request("DELETE", f"/groups/{quote(name)}")

    async def add_to_group(self, name: str, users: list[str]) -> None:
        await self.request("POST", f"/groups/{quote(name)}/users", {"users": users})

    async def remove_from_group(self, name: str, users: list[str]) -> None:
        await self.request("DELETE", f"/groups/{quote(name)}/users", {"users": users})
