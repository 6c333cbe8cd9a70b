"""HTTP client of the exchange service, as used from a learner's server or a formgrader.

It authenticates with the hub token the server already has (JUPYTERHUB_API_TOKEN) and finds
the service through the hub API, so it works the same wherever the server runs. Standard
library only: this module is imported inside learners' sandboxes.
"""

from __future__ import annotations

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
        except (urllib.error.URLError, OSError) as exc:
            raise ExchangeUnavailable(
                "課題の受け渡しサービスに接続できません。しばらくしてからもう一度試してください"
            ) from exc

    def get_json(self, path: str) -> dict:
        return json.loads(self.request("GET", path).decode("utf-8"))

    def send(self, method: str, path: str, blob: bytes) -> dict:
        raw = self.request(method, path, blob, "application/gzip")
        return json.loads(raw.decode("utf-8")) if raw else {}


def discover(token: str) -> str:
    """The exchange's base URL (including its prefix), from the hub's service model."""
    api = os.environ.get("JUPYTERHUB_API_URL", "").rstrip("/")
    if not api:
        raise ExchangeUnavailable("ハブの API の場所（JUPYTERHUB_API_URL）が分かりません")
    request = urllib.request.Request(f"{api}/services/{SERVICE}")  # noqa: S310
    request.add_header("Authorization", f"token {token}")
    try:
        with _opener().open(request, timeout=30) as response:
            model = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404):
            raise ExchangeUnavailable(
                "課題の受け渡しサービスを使う権限がありません（どのコースにも登録されていません）",
                exc.code,
            ) from exc
        raise ExchangeUnavailable(f"ハブに問い合わせできません（HTTP {exc.code}）") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ExchangeUnavailable("ハブに接続できません") from exc
    url, prefix = model.get("url") or "", model.get("prefix") or f"/services/{SERVICE}/"
    if not url:
        raise ExchangeUnavailable("課題の受け渡しサービスが動いていません")
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))
