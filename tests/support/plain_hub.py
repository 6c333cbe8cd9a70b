"""A real JupyterHub (with its configurable-http-proxy) from the test prefix, on loopback
ports, for tests that need the hub's OAuth and proxy but none of Sunaba's one-machine setup:
services and roles are given as the hub pod would compute them, people log in with
JupyterHub's DummyAuthenticator (any password), and nobody's server is ever spawned."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.support.hub import PREFIX, free_port

CONFIG = """
import json
settings = json.load(open({settings!r}))
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % settings["proxy_api_port"]
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.JupyterHub.db_url = "sqlite:///" + settings["db"]
c.JupyterHub.cookie_secret_file = settings["cookie_secret"]
c.JupyterHub.pid_file = settings["pid_file"]
c.ConfigurableHTTPProxy.pid_file = settings["proxy_pid_file"]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(settings["users"])
c.JupyterHub.services = settings["services"]
c.JupyterHub.load_roles = settings["roles"]
c.JupyterHub.load_groups = settings["groups"]
"""


class PlainHub:
    def __init__(self, root: Path):
        """Ports are picked here, so that what must reach the hub can be told before it runs."""
        self.root = root
        self.port, self.hub_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None

    def configure(self, *, services, roles, groups, users, extra_config="", **extra) -> None:
        """`extra_config`: more lines of jupyterhub_config.py, which read `extra` (JSON) from
        `settings`."""
        root = self.root
        settings = {
            "port": self.port,
            "hub_port": self.hub_port,
            "proxy_api_port": free_port(),
            "proxy": str(PREFIX / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"),
            "db": str(root / "jupyterhub.sqlite"),
            "cookie_secret": str(root / "cookie_secret"),
            "pid_file": str(root / "hub.pid"),
            "proxy_pid_file": str(root / "proxy.pid"),
            "users": users,
            "services": services,
            "roles": roles,
            "groups": groups,
            **extra,
        }
        (root / "settings.json").write_text(json.dumps(settings))
        (root / "jupyterhub_config.py").write_text(
            CONFIG.format(settings=str(root / "settings.json")) + extra_config
        )

    def start(self, timeout: float = 90) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(PREFIX / "venv" / "bin" / "jupyterhub"), "-f", "jupyterhub_config.py"],
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PATH": f"{PREFIX / 'venv' / 'bin'}:/usr/bin:/bin"},
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"jupyterhub did not come up:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def login(self, name: str) -> requests.Session:
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30)
        answer = session.post(
            f"{self.url}/hub/login",
            data={"username": name, "password": "x", "_xsrf": session.cookies.get("_xsrf", "")},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302, (answer.status_code, self.log_tail())
        return session

    def stop(self) -> None:
        """The hub and the proxy it started (its own process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # The hub stops its proxy; should it have died first, the proxy is still in the group
        # this test started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
