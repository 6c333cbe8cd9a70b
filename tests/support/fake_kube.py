"""A small stand-in for the Kubernetes API server, on 127.0.0.1, for the grading-pod tests.

It is a mock of the cluster only: it records the pod manifests it receives and every request as
RBAC would name it, and "runs" each pod by starting its container's command as a local process
(the real in-pod program), with the pod's /tmp in a private directory. Like a kubelet it stops a
pod over its memory limit (reported `OOMKilled`, exit 137) or past `activeDeadlineSeconds`
(reported `DeadlineExceeded`); pods/attach is a websocket speaking `v4.channel.k8s.io` (one
channel byte before each frame: 0 stdin, 1 stdout).

Secrets, Services and Deployments (for the courses' formgraders) are kept as the API server
keeps objects: read, create (409 if the name is taken), replace (409 on a stale
`resourceVersion`, 422 on a changed Service `clusterIP`) and delete, each request recorded as
RBAC names it, with its API group (`object_requests`). With `run_deployments`, each
Deployment's pod runs as a local process (tests.support.fake_workloads).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from aiohttp import WSMsgType, web

from tests.support.fake_workloads import DeploymentRunner
from tests.support.pod_grading import (
    container_env,
    container_preexec,
    kill_pod_processes,
    pod_processes,
    remove_scratch,
    scratch_dir,
)

TOKEN = "fake-service-account-token"
OUT_CHUNK = 32 * 1024


@dataclass
class FakePod:
    manifest: dict
    scratch: Path
    process: asyncio.subprocess.Process | None = None
    phase: str = "Pending"
    reason: str = ""
    terminated: dict | None = None
    killed_for: str = ""  # "OOMKilled", "DeadlineExceeded"
    peak_memory: int = 0
    attached: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def container(self) -> dict:
        return self.manifest["spec"]["containers"][0]

    def as_json(self) -> dict:
        if self.terminated is not None:
            state = {"terminated": self.terminated}
        elif self.phase == "Running":
            state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        status = {
            "phase": self.phase,
            "containerStatuses": [
                {
                    "name": self.container["name"],
                    "state": state,
                    "ready": self.phase == "Running",
                    "restartCount": 0,
                    "image": self.container["image"],
                    "imageID": "",
                }
            ],
        }
        if self.reason:
            status["reason"] = self.reason
        return {**self.manifest, "status": status}


OBJECT_KINDS = (
    ("", "/api/v1", "secrets"),
    ("", "/api/v1", "services"),
    ("apps", "/apis/apps/v1", "deployments"),
)


class _ObjectHandlers:
    """Create, read, replace and delete of one resource, as the API server answers them."""

    def __init__(self, fake: FakeKubernetes, group: str, resource: str):
        self.fake, self.group, self.resource = fake, group, resource

    def _record(self, verb: str) -> None:
        self.fake.object_requests.append((self.group, self.resource, verb))

    def _stored(self, request, manifest: dict, old: dict | None) -> dict:
        stored = {**manifest, "metadata": {**manifest["metadata"]}}
        metadata = stored["metadata"]
        metadata["namespace"] = request.match_info["namespace"]
        metadata["resourceVersion"] = str(next(self.fake.versions))
        metadata["uid"] = (old or {}).get("metadata", {}).get("uid") or f"uid-{metadata['name']}"
        if self.resource == "secrets" and "stringData" in stored:
            # The API server keeps only `data`, base64-encoded.
            data = {
                k: base64.b64encode(v.encode()).decode() for k, v in stored["stringData"].items()
            }
            stored["data"] = {**stored.get("data", {}), **data}
            del stored["stringData"]
        if self.resource == "services":
            stored["spec"] = {**stored["spec"]}
            old_ip = (old or {}).get("spec", {}).get("clusterIP")
            stored["spec"].setdefault(
                "clusterIP", old_ip or f"10.96.0.{len(self.fake.objects) + 10}"
            )
        return stored

    async def create(self, request):
        self._record("create")
        manifest = await request.json()
        key = (self.resource, manifest["metadata"]["name"])
        if key in self.fake.objects:
            return self.fake._status(409, "AlreadyExists")
        self.fake.objects[key] = self._stored(request, manifest, None)
        await self._run(key)
        return web.json_response(self.fake.objects[key], status=201)

    async def _run(self, key) -> None:
        if self.resource == "deployments" and self.fake.workloads is not None:
            await self.fake.workloads.applied(self.fake.objects[key])

    async def read(self, request):
        self._record("get")
        found = self.fake.objects.get((self.resource, request.match_info["name"]))
        if found is None:
            return self.fake._status(404, "NotFound")
        return web.json_response(found)

    async def replace(self, request):
        self._record("update")
        key = (self.resource, request.match_info["name"])
        old = self.fake.objects.get(key)
        if old is None:
            return self.fake._status(404, "NotFound")
        manifest = await request.json()
        version = manifest["metadata"].get("resourceVersion")
        if version and version != old["metadata"]["resourceVersion"]:
            return self.fake._status(409, "Conflict")
        new_ip = manifest.get("spec", {}).get("clusterIP")
        if self.resource == "services" and new_ip and new_ip != old["spec"]["clusterIP"]:
            return self.fake._status(422, "Invalid")
        self.fake.objects[key] = self._stored(request, manifest, old)
        await self._run(key)
        return web.json_response(self.fake.objects[key])

    async def delete(self, request):
        self._record("delete")
        found = self.fake.objects.pop((self.resource, request.match_info["name"]), None)
        if found is None:
            return self.fake._status(404, "NotFound")
        if self.resource == "deployments" and self.fake.workloads is not None:
            await self.fake.workloads.removed(request.match_info["name"])
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})


def record_exit(pod, code: int) -> None:
    """The container's terminated state and the pod's phase, as the kubelet reports them."""
    if pod.killed_for == "OOMKilled":
        pod.terminated = {"reason": "OOMKilled", "exitCode": 137}
    else:
        reason = "Completed" if code == 0 else "Error"
        pod.terminated = {"reason": reason, "exitCode": code if code >= 0 else 128 - code}
    pod.phase = "Succeeded" if pod.terminated["exitCode"] == 0 else "Failed"


def tree_pss(pid: int) -> int:
    """Memory of a process and its descendants as a cgroup would count it (shared pages once,
    as proportional shares); 0 once it is gone."""
    used = 0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                used += process.memory_full_info().pss
    return used


class FakeKubernetes:
    def __init__(
        self,
        start_delay: float = 0.3,
        run_deployments: bool = False,
        cluster_hosts: dict[str, str] | None = None,
    ):
        self.start_delay = start_delay
        self.requests: list[tuple[str, str]] = []  # (resource, verb), as RBAC checks them
        self.created: list[dict] = []
        self.deleted: list[str] = []
        self.pods: dict[str, FakePod] = {}
        self.peak_pods = 0  # pods that existed at once
        self.finished: dict[str, FakePod] = {}  # deleted pods, as they were
        # (api group, resource, verb) of every request on Secrets, Services and Deployments.
        self.object_requests: list[tuple[str, str, str]] = []
        self.objects: dict[tuple[str, str], dict] = {}  # (resource, name) -> stored object
        self.versions = itertools.count(1)
        self.workloads = DeploymentRunner(self.objects, cluster_hosts) if run_deployments else None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = ""

    # -- lifecycle (called from the test's thread)

    def __enter__(self) -> FakeKubernetes:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def configuration(self):
        from kubernetes_asyncio.client import Configuration

        configuration = Configuration(host=self.url)
        configuration.api_key = {"BearerToken": TOKEN}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        return configuration

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._authenticate], client_max_size=1 << 30)
        base = "/api/v1/namespaces/{namespace}/pods"
        app.router.add_post(base, self._create)
        app.router.add_get(base + "/{name}", self._get)
        app.router.add_delete(base + "/{name}", self._delete)
        app.router.add_get(base + "/{name}/attach", self._attach)
        for group, prefix, resource in OBJECT_KINDS:
            collection = f"{prefix}/namespaces/{{namespace}}/{resource}"
            handlers = _ObjectHandlers(self, group, resource)
            app.router.add_post(collection, handlers.create)
            app.router.add_get(collection + "/{name}", handlers.read)
            app.router.add_put(collection + "/{name}", handlers.replace)
            app.router.add_delete(collection + "/{name}", handlers.delete)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def _shutdown(self) -> None:
        for pod in list(self.pods.values()):
            await self._stop(pod)
            remove_scratch(pod.scratch)
        for pod in self.finished.values():
            await self._stop(pod)
            remove_scratch(pod.scratch)
        if self.workloads is not None:
            await self.workloads.close()
        await self.runner.cleanup()

    # -- the API

    @web.middleware
    async def _authenticate(self, request, handler):
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        return await handler(request)

    def _status(self, code: int, reason: str) -> web.Response:
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
        return web.json_response({**body, "reason": reason}, status=code)

    async def _create(self, request):
        self.requests.append(("pods", "create"))
        manifest = await request.json()
        name = manifest["metadata"]["name"]
        if name in self.pods:
            return self._status(409, "AlreadyExists")
        self.created.append(manifest)
        pod = FakePod(manifest, scratch_dir())
        self.pods[name] = pod
        self.peak_pods = max(self.peak_pods, len(self.pods))
        asyncio.get_running_loop().create_task(self._kubelet(pod))
        return web.json_response(pod.as_json(), status=201)

    async def _get(self, request):
        self.requests.append(("pods", "get"))
        pod = self.pods.get(request.match_info["name"])
        if pod is None:
            return self._status(404, "NotFound")
        return web.json_response(pod.as_json())

    async def _delete(self, request):
        self.requests.append(("pods", "delete"))
        name = request.match_info["name"]
        pod = self.pods.pop(name, None)
        if pod is None:
            return self._status(404, "NotFound")
        self.deleted.append(name)
        await self._stop(pod)
        self.finished[name] = pod
        remove_scratch(pod.scratch)
        return web.json_response({"kind": "Status", "status": "Success"})

    async def _attach(self, request):
        # A websocket upgrade is a GET; newer API servers authorise it as `create` too.
        self.requests.append(("pods/attach", "get"))
        pod = self.pods.get(request.match_info["name"])
        if pod is None:
            return self._status(404, "NotFound")
        query = request.query
        if query.get("container") != pod.container["name"] or query.get("stdin") != "True":
            return self._status(400, "BadRequest")
        if pod.process is None or pod.terminated is not None or not pod.container.get("stdin"):
            return self._status(400, "BadRequest")
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",), max_msg_size=0)
        await ws.prepare(request)
        pod.attached.set()
        process = pod.process

        async def forward_stdout():
            while chunk := await process.stdout.read(OUT_CHUNK):
                await ws.send_bytes(b"\x01" + chunk)

        forward = asyncio.get_running_loop().create_task(forward_stdout())
        reader = asyncio.get_running_loop().create_task(self._stdin_from(ws, process))
        await asyncio.wait({forward, reader}, return_when=asyncio.FIRST_COMPLETED)
        if reader.done() and not forward.done():
            forward.cancel()  # the client went away
        else:
            await forward
            reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
        return ws

    async def _stdin_from(self, ws, process) -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY and message.data[:1] == b"\x00":
                process.stdin.write(message.data[1:])
                with contextlib.suppress(ConnectionError):
                    await process.stdin.drain()
        process.stdin.close()  # stdinOnce: the first attach ending closes stdin

    # -- the kubelet

    async def _kubelet(self, pod: FakePod) -> None:
        await asyncio.sleep(self.start_delay)
        if pod.manifest["metadata"]["name"] not in self.pods:
            return
        container = pod.container
        env = container_env(pod.scratch)
        for item in container.get("env", []):
            if item["name"] not in ("HOME", "TMPDIR"):  # the pod's /tmp is pod.scratch here
                env[item["name"]] = item["value"]
        pod.process = await asyncio.create_subprocess_exec(
            *container["command"],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=pod.scratch,
            preexec_fn=container_preexec(),
        )
        if pod.manifest["metadata"]["name"] not in self.pods:  # deleted while it started
            await self._stop(pod)
            return
        pod.phase = "Running"
        watch = asyncio.get_running_loop().create_task(self._limits(pod))
        code = await pod.process.wait()
        watch.cancel()
        record_exit(pod, code)
        if pod.killed_for == "DeadlineExceeded":
            pod.phase, pod.reason = "Failed", "DeadlineExceeded"

    async def _limits(self, pod: FakePod) -> None:
        """The container's memory limit (its processes' proportional share, like a cgroup
        counts shared pages once) and the pod's deadline."""
        limit = int(pod.container["resources"]["limits"]["memory"])
        deadline = time.monotonic() + pod.manifest["spec"]["activeDeadlineSeconds"]
        while True:
            await asyncio.sleep(0.05)
            used = tree_pss(pod.process.pid)
            pod.peak_memory = max(pod.peak_memory, used)
            if used > limit:
                pod.killed_for = "OOMKilled"
                self._kill_tree(pod)
                return
            if time.monotonic() > deadline:
                pod.killed_for = "DeadlineExceeded"
                self._kill_tree(pod)
                return

    def running_processes(self) -> list:
        """Processes of any pod, deleted ones included, still alive (none should be)."""
        pods = [*self.pods.values(), *self.finished.values()]
        return [
            p
            for pod in pods
            if pod.process
            for p in pod_processes(pod.process.pid, pod.scratch)
            if p.status() != psutil.STATUS_ZOMBIE
        ]

    def _kill_tree(self, pod: FakePod) -> None:
        """Everything of the pod, as a container's end kills its whole PID namespace."""
        kill_pod_processes(pod.process.pid, pod.scratch)

    async def _stop(self, pod: FakePod) -> None:
        if pod.process is None:
            return
        self._kill_tree(pod)  # also when the program has ended: it may have left orphans
        if pod.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pod.process.pid, signal.SIGKILL)
            await pod.process.wait()
