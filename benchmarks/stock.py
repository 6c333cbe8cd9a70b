"""The stock alternative benchmarks compare against: JupyterHub with its default
LocalProcessSpawner on the same Unix users, configured by hand the stock way, no sandbox."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.hub import PREFIX, free_port  # noqa: E402

READY_TIMEOUT = 600


class StockHub:
    """JupyterHub with its default LocalProcessSpawner, configured by hand the stock way."""

    def __init__(self, root: Path, environment: dict[str, str] | None = None):
        self.root = root / "stock"
        self.root.mkdir(mode=0o700)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        env = {"PATH": f"{PREFIX}/venv/bin:/usr/bin:/bin", **(environment or {})}
        config = self.root / "jupyterhub_config.py"
        config.write_text(
            textwrap.dedent(
                f"""
                c.JupyterHub.ip = "127.0.0.1"
                c.JupyterHub.port = {self.port}
                c.JupyterHub.hub_port = {free_port()}
                c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
                c.ConfigurableHTTPProxy.command = ["{PREFIX}/proxy/node_modules/.bin/configurable-http-proxy"]
                c.JupyterHub.db_url = "sqlite:///{self.root}/hub.sqlite"
                c.JupyterHub.cookie_secret_file = "{self.root}/cookie_secret"
                c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
                c.Spawner.cmd = ["{PREFIX}/venv/bin/jupyterhub-singleuser"]
                c.Spawner.default_url = "/lab"
                c.Spawner.start_timeout = {READY_TIMEOUT}
                c.Spawner.http_timeout = {READY_TIMEOUT}
                c.Spawner.environment = {env!r}
                c.Authenticator.allow_all = True
                c.JupyterHub.services = [{{"name": "bench", "api_token": "{self.token}"}}]
                c.JupyterHub.load_roles = [{{"name": "bench", "scopes": ["admin:users",
                    "admin:servers", "tokens", "access:servers"], "services": ["bench"]}}]
                """
            )
        )
        self.proc = subprocess.Popen(
            [str(PREFIX / "venv/bin/jupyterhub"), "-f", str(config)],
            cwd=self.root,
            stdout=open(self.root / "hub.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return
            time.sleep(0.5)
        raise RuntimeError("stock hub did not start")

    def api(self, method, path, **kwargs):
        return requests.request(
            method,
            f"{self.url}/hub/api{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=60,
            **kwargs,
        )

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
