"""The fake cluster's Deployment controller and kubelet (tests.support.fake_kube): each
Deployment's one pod runs as a local process with the container's command and environment.

What a cluster would provide differently, stood in for here:
- the pod's address is the loopback one: `JUPYTERHUB_SERVICE_URL` (where jupyterhub-singleuser
  listens) is pointed at 127.0.0.1 and a port instead of every address of the pod: the port
  `hosts` gives `<name>:<containerPort>` (a Service named like its Deployment), else a free one;
- cluster DNS is `hosts` ({"hub:8081": "127.0.0.1:PORT"}): URLs in the container's environment
  that name such a Service are pointed at its loopback stand-in;
- `secretKeyRef` values are read from the Secrets the fake API server keeps;
- volumes are not mounted: the container's mount paths are the same paths as the hub's, which
  are real directories on this machine (what a pod may see is checked on the manifest);
- the process runs as the test's user; as root, Jupyter Server needs `--allow-root` (a real pod
  runs as uid 1000).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICE_URL_ENV = "JUPYTERHUB_SERVICE_URL"


@dataclass
class RunningPod:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DeploymentRunner:
    def __init__(self, secrets: dict[str, dict], hosts: dict[str, str] | None = None):
        self.secrets = secrets  # the fake API server's objects, read when a pod starts
        self.hosts = hosts or {}
        self.pods: dict[str, RunningPod] = {}
        self.logs = Path(tempfile.mkdtemp(prefix="sunaba-fake-pods-"))

    def _env(self, container: dict, port: int) -> dict[str, str]:
        env = {}
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
                continue
            ref = item["valueFrom"]["secretKeyRef"]
            secret = self.secrets[("secrets", ref["name"])]
            env[item["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        for name, address in self.hosts.items():
            env = {k: v.replace(f"//{name}", f"//{address}") for k, v in env.items()}
        if SERVICE_URL_ENV in env:
            url = urlsplit(env[SERVICE_URL_ENV])
            env[SERVICE_URL_ENV] = urlunsplit(url._replace(netloc=f"127.0.0.1:{port}"))
        return env

    async def applied(self, deployment: dict) -> None:
        """A Deployment was created or replaced: `Recreate`, the old pod goes first."""
        name = deployment["metadata"]["name"]
        await self.removed(name)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (declared,) = container["ports"]
        address = self.hosts.get(f"{name}:{declared['containerPort']}")
        port = int(address.rsplit(":", 1)[1]) if address else free_port()
        command = list(container["command"])
        if os.geteuid() == 0:
            command.append("--allow-root")
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=self._env(container, port),
                cwd=container.get("workingDir") or str(self.logs),
                start_new_session=True,
            )
        self.pods[name] = RunningPod(process, port, log)

    async def removed(self, name: str) -> None:
        pod = self.pods.pop(name, None)
        if pod is None or pod.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pod.process.pid, 15)
        try:
            await asyncio.wait_for(pod.process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pod.process.pid, 9)
            await pod.process.wait()

    async def close(self) -> None:
        for name in list(self.pods):
            await self.removed(name)
        shutil.rmtree(self.logs, ignore_errors=True)
