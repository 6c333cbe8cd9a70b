"""One learner's browser, as the load client of bench_class.py drives it: the hub's login form,
the spawn progress stream, JupyterLab's contents API and kernel websocket, logout.

Every call is bounded (REQUEST_TIMEOUT, or the timeout given), so a stuck hub fails a step
instead of hanging the run. Each step's time or failure message is kept in a `StepLog`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from tests.support.kernel_protocol import execute_content, shell_message
from yarl import URL

REQUEST_TIMEOUT = 120
READY_TIMEOUT = 600


class StepFailed(Exception):
    """A step did not do what a learner needs; the message says what came back."""


@dataclass
class StepLog:
    """Per learner: seconds per step, and the first failure (after which the learner stops)."""

    learner: str
    times: dict[str, float] = field(default_factory=dict)
    calls: dict[str, list[float]] = field(default_factory=dict)  # each call of a step
    failure: tuple[str, str] | None = None

    @asynccontextmanager
    async def step(self, name: str):
        started = time.monotonic()
        try:
            yield
        except Exception as exc:
            self.failure = (name, f"{type(exc).__name__}: {exc}"[:300])
            raise
        # Repeated steps (several cells, several checks) add up to the learner's time for them;
        # each call is kept too, for the percentiles of a single cell.
        spent = time.monotonic() - started
        self.times[name] = self.times.get(name, 0.0) + spent
        self.calls.setdefault(name, []).append(spent)


class Browser:
    """An aiohttp session holding one learner's cookies, like their browser tab."""

    def __init__(self, hub_url: str, name: str):
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        # The hub is on 127.0.0.1: aiohttp's default jar refuses cookies for IP addresses.
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )

    async def close(self) -> None:
        await self.session.close()

    @property
    def server_url(self) -> str:
        return f"{self.hub_url}/user/{self.name}"

    def cookie(self, name: str, url: str) -> str:
        found = self.session.cookie_jar.filter_cookies(URL(url))
        return found[name].value if name in found else ""

    async def _checked(self, response: aiohttp.ClientResponse, ok=(200,)) -> str:
        text = await response.text()
        if response.status not in ok:
            raise StepFailed(
                f"{response.method} {response.url.path}: {response.status} {text[:200]}"
            )
        return text

    # -- hub pages ---------------------------------------------------------------------

    async def login(self, password: str) -> None:
        """GET the login form for its _xsrf cookie, POST it as the form does."""
        async with self.session.get(f"{self.hub_url}/hub/login") as response:
            await self._checked(response)
        xsrf = self.cookie("_xsrf", f"{self.hub_url}/hub/")
        form = {"username": self.name, "password": password, "_xsrf": xsrf}
        async with self.session.post(
            f"{self.hub_url}/hub/login", data=form, allow_redirects=False
        ) as response:
            await self._checked(response, ok=(302, 303))
        # The home page, as the browser shows next: it also sets the _xsrf cookie bound to the
        # logged-in session, which the hub's API wants with cookie-authenticated requests.
        async with self.session.get(f"{self.hub_url}/hub/home") as response:
            await self._checked(response)

    async def start_server(self) -> None:
        """Ask for the server as the home page's button does, then follow the progress stream."""
        headers = {"X-XSRFToken": self.cookie("_xsrf", f"{self.hub_url}/hub/")}
        api = f"{self.hub_url}/hub/api/users/{self.name}/server"
        # A JSON body, as the home page's script sends: a body-less POST is not taken as an
        # API call of the logged-in user (403 "Missing or invalid credentials").
        async with self.session.post(api, headers=headers, json={}) as response:
            # 400: already running (e.g. the hub started it on login).
            await self._checked(response, ok=(201, 202, 400))
        timeout = aiohttp.ClientTimeout(total=READY_TIMEOUT)
        async with self.session.get(f"{api}/progress", headers=headers, timeout=timeout) as stream:
            await self._checked_stream(stream)

    async def _checked_stream(self, stream: aiohttp.ClientResponse) -> None:
        if stream.status != 200:
            raise StepFailed(f"progress: {stream.status} {(await stream.text())[:200]}")
        last = ""
        async for line in stream.content:
            if not line.startswith(b"data:"):
                continue
            event = json.loads(line[5:])
            last = event.get("message", last)
            if event.get("ready"):
                return
            if event.get("failed"):
                raise StepFailed(f"spawn failed: {last}")
        raise StepFailed(f"progress stream ended before ready: {last}")

    async def open_lab(self) -> None:
        """Load JupyterLab: the OAuth round trip that gives the server's cookies."""
        async with self.session.get(f"{self.server_url}/lab", max_redirects=20) as response:
            await self._checked(response)

    async def logout(self) -> None:
        async with self.session.get(f"{self.hub_url}/hub/logout") as response:
            await self._checked(response)

    # -- the learner's server ----------------------------------------------------------

    def _server_headers(self) -> dict:
        return {"X-XSRFToken": self.cookie("_xsrf", f"{self.server_url}/")}

    async def server_call(self, method: str, path: str, *, timeout=REQUEST_TIMEOUT, **kwargs):
        """A JSON call to the learner's server, cookie-authenticated as JupyterLab's."""
        async with self.session.request(
            method,
            f"{self.server_url}/{path}",
            headers=self._server_headers(),
            timeout=aiohttp.ClientTimeout(total=timeout),
            **kwargs,
        ) as response:
            text = await self._checked(response, ok=(200, 201))
        return json.loads(text) if text else {}

    async def kernel(self) -> Kernel:
        model = await self.server_call("POST", "api/kernels", json={"name": "python3"})
        url = URL(self.server_url.replace("http", "ws", 1) + f"/api/kernels/{model['id']}/channels")
        url = url.with_query(
            session_id=uuid.uuid4().hex, _xsrf=self._server_headers()["X-XSRFToken"]
        )
        socket = await self.session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=10))
        return Kernel(socket, model["id"], self.name)


class Kernel:
    """A kernel's channels websocket: execute_request, then the reply and idle for it."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, kernel_id: str, user: str):
        self.socket, self.id, self.user = socket, kernel_id, user
        self.session = uuid.uuid4().hex

    async def run(self, code: str, timeout: float = REQUEST_TIMEOUT) -> str:
        """Run code; return its stdout. Raises StepFailed on an error, a timeout or a lost kernel."""
        request = shell_message(
            "execute_request", execute_content(code), session=self.session, username=self.user
        )
        msg_id = request["header"]["msg_id"]
        await self.socket.send_str(json.dumps(request))
        try:
            return await asyncio.wait_for(self._outcome(msg_id), timeout)
        except TimeoutError:
            raise StepFailed(f"no reply within {timeout:.0f} s") from None

    async def _outcome(self, msg_id: str) -> str:
        stdout, error, status, idle = "", "", None, False
        # iopub's idle and shell's reply travel on different channels: either may come first.
        while status is None or not idle:
            message = await self.socket.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                raise StepFailed(f"websocket closed: {message.type.name} {message.extra}")
            msg = json.loads(message.data)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                stdout += content["text"]
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                status = content["status"]
            elif kind == "status":
                state = content["execution_state"]
                if state in ("restarting", "dead"):
                    raise StepFailed(f"kernel {state}")
                idle = idle or state == "idle"
        if status != "ok":
            raise StepFailed(error or f"execute_reply {status}")
        return stdout

    async def close(self) -> None:
        await self.socket.close()
