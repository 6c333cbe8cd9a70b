"""HTTP client of the exchange service, as used from a learner's server or a formgrader.

It authenticates with the hub token the server already has (JUPYTERHUB_API_TOKEN) and finds
the service through the hub API, so it works the same wherever the server runs. Standard
library only: this module is imported inside learners' sandboxes.

`find_service` is the one way Sunaba's clients find a hub service; the instant checks
(`sunaba.checks`) use it too. It lives here because this module is already importable in every
learner's kernel twice over: as `sunaba.exchange.client` from the runtime venv, and as the
portable copy the nbgrader plugin uses (see `sunaba.exchange.learner_files`).
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request

SERVICE = "sunaba-exchange"


class ExchangeUnavailable(RuntimeError):
    """The exchange cannot be reached or refused the request (Japanese message)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def _opener():
    # Loopback or cluster-internal traffic: never through a proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _message(raw: bytes, fallback: str) -> str:
    try:
        return str(json.loads(raw.decode("utf-8")).get("message") or fallback)
    except (ValueError, AttributeError, UnicodeDecodeError):
        return fallback


def _unreachable(method: str, path: str) -> str:
    """No answer, or one cut short (the service is stopped or being restarted). A submission
    is then either stored whole or not at all, never in part: sending it again is always safe."""
    if method == "POST" and path.endswith("/submissions"):
        return (
            "提出が届いたことを確かめられませんでした（課題の受け渡しサービスが再起動中かも"
            "しれません）。少し待ってから、もう一度提出してください。前の提出が消えることは"
            "ありません"
        )
    return "課題の受け渡しサービスに接続できません。しばらくしてからもう一度試してください"


class ExchangeClient:
    def __init__(self, base_url: str, token: str, timeout: float = 120):
        self.base = base_url.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.opener = _opener()

    @classmethod
    def from_environment(cls, url: str = "") -> ExchangeClient:
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if not token:
            raise ExchangeUnavailable(
                "ハブのトークンがありません。課題の受け渡しはハブ上のサーバーからだけ使えます"
            )
        return cls(url or discover(token), token)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> bytes:
        request = urllib.request.Request(  # noqa: S310 (URL comes from the hub)
            urllib.parse.urljoin(self.base, path), data=body, method=method
        )
        request.add_header("Authorization", f"token {self.token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            raise ExchangeUnavailable(
                _message(raw, f"課題の受け渡しサービスがエラーを返しました（HTTP {exc.code}）"),
                exc.code,
            ) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise ExchangeUnavailable(_unreachable(method, path)) from exc

    def get_json(self, path: str) -> dict:
        return json.loads(self.request("GET", path).decode("utf-8"))

    def send(self, method: str, path: str, blob: bytes) -> dict:
        raw = self.request(method, path, blob, "application/gzip")
        return json.loads(raw.decode("utf-8")) if raw else {}


class ServiceNotFound(RuntimeError):
    """The hub did not say where a service is. `reason` is one of the constants below, so that
    each client can tell its learners in its own words; `status` is the hub's HTTP status."""

    NO_API = "no-api"  # JUPYTERHUB_API_URL is not set: not running under the hub
    FORBIDDEN = "forbidden"  # the token may not look the service up (403 or 404)
    HUB_ERROR = "hub-error"  # the hub answered with another error status
    UNREACHABLE = "unreachable"  # no answer, or not JSON
    NOT_RUNNING = "not-running"  # the hub knows the service, but it has no URL

    def __init__(self, reason: str, status: int = 0):
        super().__init__(f"{reason} (HTTP {status})" if status else reason)
        self.reason = reason
        self.status = status


def find_service(name: str, token: str, timeout: float = 30) -> str:
    """The base URL of hub service `name` (with its prefix, ending in "/"), from the hub's
    service model. The URL is the service's own, not the proxy's: the caller talks to it
    directly, on loopback or inside the cluster."""
    api = os.environ.get("JUPYTERHUB_API_URL", "").rstrip("/")
    if not api:
        raise ServiceNotFound(ServiceNotFound.NO_API)
    request = urllib.request.Request(f"{api}/services/{urllib.parse.quote(name)}")  # noqa: S310
    request.add_header("Authorization", f"token {token}")
    try:
        with _opener().open(request, timeout=timeout) as response:
            model = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        reason = ServiceNotFound.FORBIDDEN if exc.code in (403, 404) else ServiceNotFound.HUB_ERROR
        raise ServiceNotFound(reason, exc.code) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ServiceNotFound(ServiceNotFound.UNREACHABLE) from exc
    if not isinstance(model, dict) or not model.get("url"):
        raise ServiceNotFound(ServiceNotFound.NOT_RUNNING)
    prefix = model.get("prefix") or f"/services/{name}/"
    parts = urllib.parse.urlsplit(model["url"])
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))


DISCOVERY_MESSAGES = {
    ServiceNotFound.NO_API: "ハブの API の場所（JUPYTERHUB_API_URL）が分かりません",
    ServiceNotFound.FORBIDDEN: (
        "課題の受け渡しサービスを使う権限がありません（どのコースにも登録されていません）"
    ),
    ServiceNotFound.HUB_ERROR: "ハブに問い合わせできません（HTTP {status}）",
    ServiceNotFound.UNREACHABLE: "ハブに接続できません",
    ServiceNotFound.NOT_RUNNING: "課題の受け渡しサービスが動いていません",
}


def discover(token: str) -> str:
    """The exchange's base URL (including its prefix), from the hub's service model."""
    try:
        return find_service(SERVICE, token)
    except ServiceNotFound as exc:
        message = DISCOVERY_MESSAGES[exc.reason].format(status=exc.status)
        raise ExchangeUnavailable(message, exc.status) from exc
