"""A small stand-in for the Kubernetes API server, on 127.0.0.1, for the grading-pod tests.

It is a mock of the cluster only: it records the pod manifests it receives and every request as
RBAC would name it, and "runs" each pod by starting its container's command as a local process
(the kubelet part: tests.support.fake_kube_kubelet). pods/attach is a websocket speaking
`v4.channel.k8s.io` (one channel byte before each frame: 0 stdin, 1 stdout).

Secrets, Services and Deployments (for the courses' formgraders) are kept as the API server
keeps objects (tests.support.fake_kube_objects).

Variants reuse this server: a subclass makes its own pods (`_new_pod`), runs them its own way
(`_kubelet`), adds routes (`_routes`) and attaches to other containers through `_websocket`
and `_relay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading

from aiohttp import WSMsgType, web

from tests.support.fake_kube_kubelet import FakeKubelet, FakePod
from tests.support.fake_kube_objects import OBJECT_KINDS, ObjectHandlers
from tests.support.fake_workloads import DeploymentRunner
from tests.support.pod_grading import remove_scratch, scratch_dir

TOKEN = "fake-service-account-token"
OUT_CHUNK = 32 * 1024
PODS = "/api/v1/namespaces/{namespace}/pods"


class FakeKubernetes(FakeKubelet):
    # (api group, path prefix, resource) of the objects kept besides pods.
    object_kinds: tuple[tuple[str, str, str], ...] = OBJECT_KINDS

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
        self._routes(app)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def _routes(self, app: web.Application) -> None:
        app.router.add_post(PODS, self._create)
        app.router.add_get(PODS + "/{name}", self._get)
        app.router.add_delete(PODS + "/{name}", self._delete)
        app.router.add_get(PODS + "/{name}/attach", self._attach)
        for group, prefix, resource in self.object_kinds:
            ObjectHandlers(self, group, resource).add_routes(app, prefix)

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

    def _new_pod(self, manifest: dict) -> FakePod:
        return FakePod(manifest, scratch_dir())

    async def _create(self, request):
        self.requests.append(("pods", "create"))
        manifest = await request.json()
        name = manifest["metadata"]["name"]
        if name in self.pods:
            return self._status(409, "AlreadyExists")
        self.created.append(manifest)
        pod = self._new_pod(manifest)
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

    # -- pods/attach

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
        ws = await self._websocket(request)
        pod.attached.set()
        return await self._relay(ws, pod.process)

    async def _websocket(self, request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",), max_msg_size=0)
        await ws.prepare(request)
        return ws

    async def _relay(self, ws, process, sink: bytearray | None = None) -> web.WebSocketResponse:
        """The attached container's stdout to the client and the client's stdin to it, until
        the program's output ends or the client goes away; `sink` keeps what it was sent."""

        async def forward_stdout():
            while chunk := await process.stdout.read(OUT_CHUNK):
                await ws.send_bytes(b"\x01" + chunk)

        loop = asyncio.get_running_loop()
        forward = loop.create_task(forward_stdout())
        reader = loop.create_task(self._stdin_from(ws, process, sink))
        await asyncio.wait({forward, reader}, return_when=asyncio.FIRST_COMPLETED)
        if reader.done() and not forward.done():
            forward.cancel()  # the client went away
        else:
            await forward
            reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
        return ws

    async def _stdin_from(self, ws, process, sink: bytearray | None = None) -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY and message.data[:1] == b"\x00":
                if sink is not None:
                    sink += message.data[1:]
                process.stdin.write(message.data[1:])
                with contextlib.suppress(ConnectionError):
                    await process.stdin.drain()
        process.stdin.close()  # stdinOnce: the first attach ending closes stdin
