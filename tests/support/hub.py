"""A real Sunaba hub for tests: `sunaba up` as a subprocess, on loopback ports, with a temporary
state dir, home root and Unix-account prefix that are removed afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from sunaba.sandbox.limits import learner_cgroup_parent
from sunaba.sandbox.uid_ranges import release_uid_range
from tests.support.kernel_protocol import execute_content, messages_until, shell_message

REPO = Path(__file__).resolve().parents[2]
PREFIX = Path(os.environ.get("SUNABA_TEST_PREFIX", "/opt/sunaba"))
SUNABA = PREFIX / "venv" / "bin" / "sunaba"
CGROUP_V1 = Path("/sys/fs/cgroup")
# Test hubs take the site default (`auto`: pre-imported kernels with fast start);
# SUNABA_TEST_PRELOAD_KERNELS=1 or 0 turns them on or off for every test hub.
PRELOAD_KERNELS = {"1": True, "0": False}.get(
    os.environ.get("SUNABA_TEST_PRELOAD_KERNELS", ""), "auto"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Learner:
    name: str
    password: str
    token: str = ""
    kernel: str = ""
    session: requests.Session = field(default_factory=requests.Session)


def account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class SunabaHub:
    """One hub process and everything it created, cleaned up by `close()`."""

    def __init__(
        self,
        *,
        memory_limit: str = "768M",
        max_processes: int = 96,
        extra=None,
        checkout_courses: bool = False,
    ):
        """`checkout_courses`: sync the checkout's own courses (as `make up` does). Off by
        default: each course costs the start its generated assignments and a formgrader, and a
        test that needs courses brings its own or asks for these."""
        tag = secrets.token_hex(2)
        self.user_prefix = f"sbt{tag}-"
        self.root = Path(f"/tmp/sunaba-test-{tag}")
        self.root.mkdir(mode=0o755)
        self.state_dir = self.root / "state"
        self.home_root = self.root / "homes"
        self.port = free_port()
        self.config_file = self.root / "sunaba.yaml"
        site = {
            "site": {"name": "砂場 Sunaba テスト", "language": "ja"},
            "hub": {
                "ip": "127.0.0.1",
                "port": self.port,
                "hub_port": free_port(),
                "proxy_api_port": free_port(),
                "admin_users": ["admin"],
                "state_dir": str(self.state_dir),
                "prefix": str(PREFIX),
            },
            "sandbox": {
                "mode": "auto",
                "user_prefix": self.user_prefix,
                "home_root": str(self.home_root),
                "memory_limit": memory_limit,
                "max_processes": max_processes,
                "preload_kernels": PRELOAD_KERNELS,
            },
            "culler": {"enabled": True, "timeout": 600, "every": 60},
            # Each test hub is an install of its own: grading uids apart from every other's.
            "grading": {"sandbox_uid_base": 3_000_000_000 + int(tag, 16) * 1024},
        }
        if not checkout_courses:
            (self.root / "courses").mkdir()
            site["courses"] = {"directory": str(self.root / "courses")}
        for section, values in (extra or {}).items():
            site.setdefault(section, {}).update(values)
        self.config_file.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.output = self.root / "up.log"
        self.admin: Learner | None = None

    # -- lifetime --------------------------------------------------------------------

    def start(self, timeout: float = 300) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUNABA")}
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                [str(SUNABA), "--config", str(self.config_file), "up"],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sunaba up exited:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"hub did not come up:\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM `sunaba up`, as Ctrl-C would; return how long it took."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        return time.monotonic() - started

    def log_text(self) -> str:
        """Everything the hub printed and logged so far."""
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        hub_log = self.state_dir / "logs" / "jupyterhub.log"
        if hub_log.exists():
            text += "\n--- hub log ---\n" + hub_log.read_text(errors="replace")
        return text

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def accounts(self) -> list[str]:
        return [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(self.user_prefix)]

    def processes_left(self) -> list[str]:
        """Processes of this hub's learners, and hub/proxy processes using this config."""
        found = []
        for account in self.accounts():
            result = subprocess.run(["pgrep", "-u", account, "-a"], capture_output=True, text=True)
            found += result.stdout.splitlines()
        result = subprocess.run(
            ["pgrep", "-af", f"{self.state_dir}|{self.config_file}|:{self.port}"],
            capture_output=True,
            text=True,
        )
        found += [line for line in result.stdout.splitlines() if "pgrep" not in line]
        # An exited child that PID 1 has not reaped yet is not running anything.
        return [line for line in found if "<defunct>" not in line]

    def close(self) -> None:
        self.stop()
        for account in self.accounts():
            subprocess.run(["pkill", "-KILL", "-u", account], check=False)
            subprocess.run(["userdel", account], check=False, capture_output=True)
            for controller in ("memory", "cpu", "pids"):
                group = CGROUP_V1 / controller / learner_cgroup_parent(str(self.state_dir))
                group = group / account
                with contextlib.suppress(OSError):
                    group.rmdir()
        for controller in ("memory", "cpu", "pids"):
            with contextlib.suppress(OSError):
                (CGROUP_V1 / controller / learner_cgroup_parent(str(self.state_dir))).rmdir()
        # The grading uid range this install claimed in the machine's registry (/etc/sunaba).
        with contextlib.suppress(OSError):
            release_uid_range(str(self.state_dir))
        shutil.rmtree(self.root, ignore_errors=True)

    # -- HTTP -------------------------------------------------------------------------

    def service_token(self) -> str:
        data = yaml.safe_load((self.state_dir / "secrets.yaml").read_text())
        return data["service_tokens"]["sunaba-admin"]

    def api(self, method: str, path: str, token: str | None = None, **kwargs):
        token = token or self.service_token()
        headers = {"Authorization": f"token {token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )

    def signup(self, name: str, password: str | None = None) -> Learner:
        """Sign up through NativeAuthenticator's form, as a person would."""
        learner = Learner(name=name, password=password or secrets.token_urlsafe(12))
        session = learner.session
        session.get(f"{self.url}/hub/signup", timeout=30)
        response = session.post(
            f"{self.url}/hub/signup",
            data={
                "username": name,
                "signup_password": learner.password,
                "signup_password_confirmation": learner.password,
                "email": "",
                "_xsrf": session.cookies.get("_xsrf", ""),
            },
            timeout=30,
        )
        response.raise_for_status()
        return learner

    def login(self, learner: Learner) -> None:
        session = learner.session
        session.cookies.clear()  # a fresh browser session, also after a hub restart
        session.get(f"{self.url}/hub/login", timeout=30)
        response = session.post(
            f"{self.url}/hub/login",
            data={
                "username": learner.name,
                "password": learner.password,
                "_xsrf": session.cookies.get("_xsrf", ""),
            },
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise AssertionError(
                f"login of {learner.name} failed: {response.status_code}\n{self.log_tail(30)}"
            )
        token = session.post(
            f"{self.url}/hub/api/users/{learner.name}/tokens",
            json={"note": "test", "expires_in": 3600},
            headers={"X-XSRFToken": session.cookies.get("_xsrf", "")},
            timeout=30,
        )
        token.raise_for_status()
        learner.token = token.json()["token"]

    def ensure_admin(self) -> Learner:
        if self.admin is None:
            name, password = (self.state_dir / "admin-password.txt").read_text().split()
            self.admin = Learner(name=name, password=password)
            self.login(self.admin)
        return self.admin

    def new_learner(self, name: str) -> Learner:
        """Sign up, get approved by the admin (through the page admins use), log in."""
        admin = self.ensure_admin()
        learner = self.signup(name)
        approve = admin.session.get(f"{self.url}/hub/authorize/{name}", timeout=30)
        approve.raise_for_status()
        self.login(learner)
        return learner

    def spawn(self, learner: Learner, timeout: float = 120) -> float:
        started = time.monotonic()
        learner.kernel = ""
        response = self.api("POST", f"/users/{learner.name}/server", token=learner.token)
        if response.status_code not in (201, 202):
            raise AssertionError(
                f"spawn failed: {response.status_code} {response.text}\n{self.log_tail(40)}"
            )
        while time.monotonic() - started < timeout:
            model = self.api("GET", f"/users/{learner.name}", token=learner.token).json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return time.monotonic() - started
            time.sleep(0.3)
        raise AssertionError(f"server of {learner.name} not ready:\n{self.log_tail()}")

    def stop_server(self, learner: Learner) -> None:
        self.api("DELETE", f"/users/{learner.name}/server", token=learner.token)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{learner.name}", token=learner.token).json()
            if not model.get("servers"):
                return
            time.sleep(0.3)

    def account_of(self, learner: Learner) -> str:
        return f"{self.user_prefix}{learner.name}"

    def identity(self, learner: Learner) -> str:
        """Whom the learner's server, reached through the proxy with their token, says it
        serves: a server another learner stood in for would name someone else."""
        response = requests.get(
            f"{self.url}/user/{learner.name}/api/me",
            headers={"Authorization": f"token {learner.token}"},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["identity"]["username"]

    def home_of(self, learner: Learner) -> Path:
        return self.home_root / self.account_of(learner)

    # -- kernels ------------------------------------------------------------------------

    def start_kernel(self, learner: Learner) -> str:
        response = requests.post(
            f"{self.url}/user/{learner.name}/api/kernels",
            headers={"Authorization": f"token {learner.token}"},
            json={"name": "python3"},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["id"]

    def execute(self, learner: Learner, kernel_id: str, code: str, timeout: float = 60) -> dict:
        """Run code in a kernel over its websocket; return {'status', 'stdout', 'result', ...}."""
        return asyncio.run(self._execute(learner, kernel_id, code, timeout))

    async def kernel_socket(self, learner, kernel_id):
        """A websocket to the kernel's channels through the proxy, as an open notebook has."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = f"ws://127.0.0.1:{self.port}/user/{learner.name}/api/kernels/{kernel_id}/channels"
        request = HTTPRequest(url, headers={"Authorization": f"token {learner.token}"})
        return await websocket_connect(request)

    async def _execute(self, learner, kernel_id, code, timeout) -> dict:
        conn = await self.kernel_socket(learner, kernel_id)
        try:
            return await self.execute_on(conn, learner, code, timeout)
        finally:
            conn.close()

    async def execute_on(self, conn, learner, code, timeout) -> dict:
        """Run code over an open kernel websocket; {'status', 'stdout', 'result', ...}."""
        request = shell_message(
            "execute_request",
            execute_content(code),
            session=uuid.uuid4().hex,
            username=learner.name,
        )
        msg_id = request["header"]["msg_id"]
        conn.write_message(json.dumps(request))
        outcome = {"status": None, "stdout": "", "stderr": "", "result": None, "error": None}
        idle = False
        deadline = time.monotonic() + timeout
        async for raw in messages_until(conn, deadline):
            if raw is None:
                outcome["status"] = "disconnected"
                outcome["error"] = f"websocket closed: {conn.close_code} {conn.close_reason}"
                break
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                if msg.get("msg_type") == "status" and msg["content"].get("execution_state") in (
                    "restarting",
                    "dead",
                ):
                    outcome["status"] = "died"
                    break
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                outcome[content["name"]] += content["text"]
            elif kind == "execute_result":
                outcome["result"] = content["data"].get("text/plain")
            elif kind == "error":
                outcome["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                outcome["status"] = content["status"]
            elif kind == "status" and content["execution_state"] in ("restarting", "dead"):
                outcome["status"] = "died"
                break
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            # iopub's idle and shell's reply travel on different channels: either may
            # arrive first, and all output has arrived once both have.
            if idle and outcome["status"] is not None:
                break
        if outcome["status"] is None:
            outcome["status"] = "timeout"
        return outcome

    def run(self, learner: Learner, code: str, timeout: float = 60) -> dict:
        if not learner.kernel:
            learner.kernel = self.start_kernel(learner)
        return self.execute(learner, learner.kernel, code, timeout)


def hub_python() -> str:
    return str(PREFIX / "venv" / "bin" / "python") if PREFIX.exists() else sys.executable
