"""The proxy (configurable-http-proxy), run by `sunaba up` beside the hub instead of by it.

JupyterHub starts its own proxy by default, and a hub that starts kills the proxy it finds. Run
apart, as Zero to JupyterHub runs it in a pod of its own and The Littlest JupyterHub runs
traefik, the proxy and its routes outlive a hub reload (`sunaba.core.hubreload`): learners' open
notebooks keep their connections while the hub starts again. The hub still decides every route
(`ConfigurableHTTPProxy.should_start = False`, with the token kept in the state dir).

Should the proxy itself die, it is started again here at once, and the hub is asked to put
every route back (`POST /hub/api/proxy`, which checks the routes against its database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.hubclient import HubApiError, HubUnreachable, admin_client
from sunaba.messages import say

START_TIMEOUT = 30.0


def proxy_command(config: SiteConfig) -> list[str]:
    """What JupyterHub would run: the public address, the API on loopback, errors to the hub."""
    hub = config.hub
    executable = Path(hub.prefix) / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    # No --ip: every address, as JupyterHub's own proxy with an empty `JupyterHub.ip`.
    address = ["--ip", hub.ip] if hub.ip else []
    return [
        str(executable),
        *address,
        "--port",
        str(hub.port),
        "--api-ip",
        "127.0.0.1",
        "--api-port",
        str(hub.proxy_api_port),
        "--error-target",
        f"http://127.0.0.1:{hub.hub_port}{hub.base_url}hub/error",
        "--log-level",
        "info",
    ]


class ProxyDidNotStart(RuntimeError):
    def __init__(self, port: int, log_path: Path):
        super().__init__(f"the proxy did not start on port {port}; see {log_path}")
        self.port = port
        self.log_path = log_path


class Proxy:
    def __init__(self, config: SiteConfig, token: str, log_path: Path):
        self.config = config
        self.token = token
        self.log_path = log_path
        self.api = f"http://127.0.0.1:{config.hub.proxy_api_port}/api/routes"
        self.proc: subprocess.Popen | None = None
        # The API is on loopback: never through an http_proxy from the environment.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self) -> None:
        """Start it and return once its API answers (ProxyDidNotStart if it does not)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CONFIGPROXY_AUTH_TOKEN": self.token,
        }
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                proxy_command(self.config),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while self.routes() is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ProxyDidNotStart(self.config.hub.port, self.log_path)
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def routes(self) -> dict | None:
        """Its routing table, or None while it does not answer."""
        request = urllib.request.Request(self.api)  # noqa: S310 (a loopback http URL of our own)
        request.add_header("Authorization", f"token {self.token}")
        try:
            with self.opener.open(request, timeout=5) as response:
                table = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return table if isinstance(table, dict) else None

    def watch(self) -> int | None:
        """Called every half second: when the proxy has exited, start it again and return its
        exit code (the caller then has the hub put its routes back)."""
        code = self.proc.poll() if self.proc is not None else None
        if code is not None:
            self.start()
        return code


def proxy_failed(config: SiteConfig, exc: ProxyDidNotStart) -> None:
    print(
        say(
            config,
            ja=f"プロキシを起動できませんでした。ポート {exc.port} をほかのプロセスが使って"
            f"いないか確かめてください（ログ: {exc.log_path}）",
            en=str(exc),
        ),
        file=sys.stderr,
        flush=True,
    )


def start_proxy(config: SiteConfig, proxy: Proxy) -> bool:
    try:
        proxy.start()
    except ProxyDidNotStart as exc:
        proxy_failed(config, exc)
        return False
    return True


def watch_proxy(config: SiteConfig, proxy: Proxy) -> None:
    """Start the proxy again when it exited (tried again every half second until it runs)."""
    try:
        code = proxy.watch()
    except ProxyDidNotStart as exc:
        proxy_failed(config, exc)
        return
    if code is None:
        return
    restored = routes_restored(config)
    print(
        say(
            config,
            ja=f"プロキシが終了しました（終了コード {code}）。起動し直して"
            + ("経路を戻しました" if restored else "います（経路はハブが次の確認で戻します）"),
            en=f"the proxy exited with code {code}; started it again"
            + ("" if restored else " (the hub puts the routes back at its next check)"),
        ),
        flush=True,
    )


def routes_restored(config: SiteConfig) -> bool:
    """Have the hub put every route back into the new proxy at once."""
    client = admin_client(config, timeout=30)
    if client is None:
        return False
    try:
        client.call("POST", "/proxy")
    except (HubApiError, HubUnreachable):
        return False
    return True
