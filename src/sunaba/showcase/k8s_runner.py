"""Start, replace and stop apps' Voilà servers on Kubernetes, each in a pod of its own.

The same contract as `runner.AppRunner` (which the showcase uses on one machine): a new version's
pod starts beside the old one, viewers switch to it only once it answers (and its preheated
kernels are ready, or a time limit passed), and the old pod is deleted then. If the new pod fails,
the old one stays live. The service proxies to the pod's own address (`status.podIP`) and port:
a Service per version would only add an object and a hop in front of one known pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tornado.httpclient import HTTPClientError

from sunaba.config.schema import SiteConfig
from sunaba.deploy import k8s_layout as L
from sunaba.grading.pods import current_namespace, in_cluster_configuration
from sunaba.kube_attach import attach_exchange
from sunaba.showcase.apphome import AppHome
from sunaba.showcase.k8s_pods import (
    APP_LABEL,
    SNAPSHOT_CONTAINER,
    app_pod,
    app_selector,
    pod_name,
    snapshot_payload,
)
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.runner import SERVER_START_TIMEOUT, AppStartFailed, app_base_url
from sunaba.showcase.sockets import SocketDirectory

log = logging.getLogger("sunaba.showcase")

POD_START_TIMEOUT = 300.0  # scheduling and pulling the image, before the server's own timeout
POLL_SECONDS = 0.5
WATCH_SECONDS = 5.0
# Pages still streaming from the previous version's pod when viewers switch are let finish.
DRAIN_SECONDS = 15.0


@dataclass
class AppPod:
    """One running app version, as the proxy and the supervisor see it."""

    app_id: int
    version: int
    name: str
    host: str  # the made-up host name the proxy's resolver maps to the pod's address
    address: str = ""
    ended: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return not self.ended


def pod_state(pod) -> tuple[str, str]:
    """(phase, why it ended or waits) from a pod's status, in words for the showcase's log."""
    status = pod.status
    if status is None:
        return "Pending", ""
    statuses = [*(status.init_container_statuses or []), *(status.container_statuses or [])]
    for container in statuses:
        state = container.state
        if state and state.terminated and state.terminated.exit_code:
            terminated = state.terminated
            return status.phase or "Failed", (
                f"container {container.name}: {terminated.reason} (exit {terminated.exit_code})"
            )
        if state and state.waiting and state.waiting.reason not in (None, "PodInitializing"):
            reason = state.waiting.reason
            if reason != "ContainerCreating":
                return status.phase or "Pending", f"container {container.name}: {reason}"
    return status.phase or "Pending", status.reason or ""


def start_failure(app_id: int, exc: BaseException) -> AppStartFailed | None:
    """What a failed start is reported as: the API's refusals and unreachability too, in the
    app's failure record, which admins read on the status page."""
    import aiohttp
    from kubernetes_asyncio.client.exceptions import ApiException

    if isinstance(exc, AppStartFailed):
        return exc
    if isinstance(exc, ApiException):
        hint = " (the Role sunaba-showcase is missing?)" if exc.status in (401, 403) else ""
        return AppStartFailed(app_id, f"Kubernetes API: {exc.status} {exc.reason}{hint}")
    if isinstance(exc, (aiohttp.ClientError, OSError, TimeoutError)):
        return AppStartFailed(app_id, f"Kubernetes API unreachable: {type(exc).__name__}: {exc}")
    return None


class PodAppRunner:
    """`AppRunner`'s interface, with pods instead of local sandboxes."""

    def __init__(
        self,
        config: SiteConfig,
        service_prefix: str,
        sockets: SocketDirectory,
        *,
        configuration=None,
        namespace: str | None = None,
        start_timeout: float = POD_START_TIMEOUT,
    ):
        self.config = config
        self.mode = "kubernetes"
        self.service_prefix = service_prefix
        self.sockets = sockets
        self.paths = ShowcasePaths.from_config(config)
        self.configuration = configuration
        self.namespace = namespace or current_namespace()
        self.start_timeout = start_timeout
        self.live: dict[int, AppPod] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.starting: dict[int, asyncio.Task] = {}
        self.failures: dict[int, str] = {}
        self.wanted: Callable[[int], bool] = lambda app_id: True
        self.drain_seconds = DRAIN_SECONDS
        self._watcher: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()

    def lock(self, app_id: int) -> asyncio.Lock:
        return self.locks.setdefault(app_id, asyncio.Lock())

    def home(self, app_id: int) -> AppHome:
        # Only its names are used here (an app has no Unix account on Kubernetes).
        return AppHome(self.config, app_id, self.mode)

    def all_groups(self) -> list:
        return []  # no cgroups: each pod is its own

    # -- the API ----------------------------------------------------------------------------

    def _configuration(self):
        if self.configuration is None:
            self.configuration = in_cluster_configuration()
        return self.configuration

    @contextlib.asynccontextmanager
    async def _api(self, websocket: bool = False):
        from kubernetes_asyncio.client import ApiClient, CoreV1Api
        from kubernetes_asyncio.stream import WsApiClient

        client_class = WsApiClient if websocket else ApiClient
        async with client_class(self._configuration()) as client:
            yield CoreV1Api(client)

    # -- looking up -------------------------------------------------------------------------

    def current(self, app_id: int) -> AppPod | None:
        pod = self.live.get(app_id)
        if pod is not None and pod.ended:
            log.warning("app %s (v%s): pod %s ended", app_id, pod.version, pod.name)
            self.sockets.unregister(pod.host)
            self.live.pop(app_id, None)
            return None
        return pod

    def start_in_background(self, app_id: int, version: int, notebook: str) -> asyncio.Task:
        task = self.starting.get(app_id)
        if task is None or task.done():
            asked = time.monotonic()
            task = asyncio.ensure_future(
                self.start(app_id, version, notebook, background=True, asked=asked)
            )
            self.starting[app_id] = task
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task

    async def app_ids_with_pods(self) -> set[int]:
        async with self._api() as core:
            pods = await core.list_namespaced_pod(self.namespace, label_selector=app_selector())
        found = set()
        for pod in pods.items:
            with contextlib.suppress(KeyError, ValueError, TypeError):
                found.add(int(pod.metadata.labels[APP_LABEL]))
        return found

    # -- starting ---------------------------------------------------------------------------

    async def start(
        self,
        app_id: int,
        version: int,
        notebook: str,
        *,
        background: bool = False,
        asked: float = 0.0,
    ) -> AppPod | None:
        """Serve `version` from a new pod; the previous pod (if any) goes once it is up.

        A `background` start that waited for the lock while the app was unpublished, or while
        another version went live (a viewer asked during a restore), does nothing."""
        async with self.lock(app_id):
            if background and not self.wanted(app_id):
                return None
            previous = self.current(app_id)
            if background and previous is not None and previous.started > asked:
                return previous
            source = self.paths.version_dir(app_id, version)
            payload = await asyncio.to_thread(snapshot_payload, source)
            name = pod_name(app_id, version)
            base_url = app_base_url(self.service_prefix, app_id)
            manifest = app_pod(self.config, name, app_id, version, base_url, notebook)
            host = f"app-{app_id}-{secrets.token_hex(3)}.pod"
            pod = AppPod(app_id, version, name, host)
            try:
                async with self._api() as core:
                    # Named here, not by the server: it can be deleted even if the reply is lost.
                    await core.create_namespaced_pod(self.namespace, manifest)
                    await self._send_snapshot(core, pod, payload)
                    await self._wait_ready(core, pod)
            except BaseException as exc:  # also cancelled: the service is stopping
                with contextlib.suppress(Exception):  # else the next start or stop deletes it
                    await self._delete(pod)
                failure = start_failure(app_id, exc)
                if failure is None:
                    raise
                self.failures[app_id] = failure.log_tail
                if failure is exc:
                    raise
                raise failure from exc
            self.failures.pop(app_id, None)
            pod.started = time.monotonic()
            self.live[app_id] = pod
            if previous is not None:
                self.sockets.unregister(previous.host)  # new requests go to the new pod
            # The previous version's pod, and any that a killed service left behind.
            others = await self._app_pod_names(app_id)
            others.discard(name)
            if others:
                self._in_background(self._retire(others, self.drain_seconds))
            self._ensure_watcher()
            log.info("app %s serves version %s from pod %s", app_id, version, name)
            return pod

    async def _read_pod(self, core, pod: AppPod):
        return await core.read_namespaced_pod(pod.name, self.namespace)

    async def _until(self, core, pod: AppPod, ready, timeout: float, what: str):
        """Poll the pod until `ready(pod)`; fail if it ends first or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            found = await self._read_pod(core, pod)
            if ready(found):
                return found
            phase, why = pod_state(found)
            if phase in ("Failed", "Succeeded"):
                raise AppStartFailed(pod.app_id, f"pod {pod.name} {what}: {phase} {why}".strip())
            if time.monotonic() > deadline:
                raise AppStartFailed(
                    pod.app_id, f"pod {pod.name} {what}: waited {int(timeout)} s ({phase} {why})"
                )
            await asyncio.sleep(POLL_SECONDS)

    async def _send_snapshot(self, core, pod: AppPod, payload: bytes) -> None:
        def init_running(found) -> bool:
            statuses = found.status.init_container_statuses if found.status else None
            return any(s.state and s.state.running for s in statuses or [])

        await self._until(core, pod, init_running, self.start_timeout, "did not start")
        answer = await self._attach_and_send(pod, payload)
        try:
            reply = json.loads(answer.strip().splitlines()[-1])
        except (ValueError, IndexError):
            reply = {"ok": False, "error": f"no answer from the snapshot step: {answer[-200:]!r}"}
        if not reply.get("ok"):
            raise AppStartFailed(pod.app_id, f"pod {pod.name}: {reply.get('error', '')}")

    async def _attach_and_send(self, pod: AppPod, payload: bytes) -> str:
        received = bytearray()
        async with self._api(websocket=True) as attach, asyncio.timeout(120):
            await attach_exchange(
                attach,
                pod.name,
                self.namespace,
                SNAPSHOT_CONTAINER,
                payload,
                received,
                enough=lambda data: b"\n" in data,
            )
        return received.decode("utf-8", errors="replace")

    async def _wait_ready(self, core, pod: AppPod) -> None:
        def serving(found) -> bool:
            return bool(found.status and found.status.phase == "Running" and found.status.pod_ip)

        found = await self._until(core, pod, serving, self.start_timeout, "did not run")
        pod.address = found.status.pod_ip
        self.sockets.register_address(pod.host, pod.address, L.SHOWCASE_APP_PORT)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while await self.status(pod) is None:
            phase, why = pod_state(await self._read_pod(core, pod))
            if phase != "Running":
                raise AppStartFailed(pod.app_id, f"pod {pod.name} stopped: {phase} {why}".strip())
            if time.monotonic() > deadline:
                raise AppStartFailed(pod.app_id, f"pod {pod.name}: Voilà did not answer")
            await asyncio.sleep(POLL_SECONDS)
        # Up. As on one machine: give the preheated pool the time to run the notebook once.
        want = min(1, self.config.showcase.pool_size)
        deadline = time.monotonic() + self.config.showcase.cell_timeout + 30
        while want and time.monotonic() < deadline:
            status = await self.status(pod)
            if status and status.get("pool_ready", 0) >= want:
                return
            await asyncio.sleep(POLL_SECONDS)

    async def status(self, pod: AppPod) -> dict | None:
        url = f"http://{pod.host}{app_base_url(self.service_prefix, pod.app_id)}_sunaba/status"
        try:
            response = await self.sockets.http.fetch(url, request_timeout=5)
        except (HTTPClientError, OSError):
            return None
        return json.loads(response.body)

    def log_tail(self, app_id: int, lines: int = 40) -> str:
        return self.failures.get(app_id, "")

    # -- watching ---------------------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        """Mark live pods that ended (out of memory, evicted, deleted by an admin), so that the
        supervisor starts them again."""
        while self.live:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                await self.check_live_pods()
            except Exception:  # keep watching whatever one pass met
                log.exception("checking app pods failed")

    async def check_live_pods(self) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        async with self._api() as core:
            for pod in list(self.live.values()):
                try:
                    phase, why = pod_state(await self._read_pod(core, pod))
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    phase, why = "Deleted", ""
                if phase != "Running":
                    log.warning("app %s: pod %s is %s %s", pod.app_id, pod.name, phase, why)
                    pod.ended = True

    # -- stopping ---------------------------------------------------------------------------

    async def _delete(self, pod: AppPod) -> None:
        self.sockets.unregister(pod.host)
        pod.ended = True
        async with self._api() as core:
            await self._delete_named(core, pod.name)

    async def _delete_named(self, core, name: str) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        log.info("deleting app pod %s", name)

        try:
            await core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=0)
        except ApiException as exc:
            if exc.status != 404:
                log.warning("app pod %s was not deleted: %s", name, exc.reason)

    def _in_background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _app_pod_names(self, app_id: int) -> set[str]:
        selector = f"{app_selector()},{APP_LABEL}={app_id}"
        async with self._api() as core:
            pods = await core.list_namespaced_pod(self.namespace, label_selector=selector)
        return {pod.metadata.name for pod in pods.items}

    async def _retire(self, names: set[str], after: float) -> None:
        """Delete replaced pods once the pages they were serving are done."""
        await asyncio.sleep(after)
        try:
            async with self._api() as core:
                for name in sorted(names):
                    await self._delete_named(core, name)
        except Exception:  # the app's next start or stop deletes them
            log.exception("deleting replaced app pods %s failed", sorted(names))

    async def _delete_matching(self, selector: str, keep: str = "") -> None:
        async with self._api() as core:
            pods = await core.list_namespaced_pod(self.namespace, label_selector=selector)
            for found in pods.items:
                if found.metadata.name != keep:
                    await self._delete_named(core, found.metadata.name)

    async def stop(self, app_id: int, *, purge: bool = False) -> None:
        """Delete the app's pods: the live one and any other (a start under way is waited for
        through the lock). `purge` is accepted for `AppRunner`'s sake: a pod leaves nothing."""
        async with self.lock(app_id):
            pod = self.live.pop(app_id, None)
            if pod is not None:
                await self._delete(pod)
            self.failures.pop(app_id, None)
            await self._delete_matching(f"{app_selector()},{APP_LABEL}={app_id}")

    def stop_all(self, budget: float = 2.0) -> None:
        """At service exit (synchronous, as the service calls it): delete every app pod.

        Pods that outlive a killed service are found by their labels at its next start
        (`purge_leftovers` and `start_all` replace them)."""
        for task in [*self.starting.values(), *self._background]:
            task.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
        self.live.clear()

        def delete_all() -> None:
            with contextlib.suppress(Exception):
                asyncio.run(self._delete_matching(app_selector()))

        worker = threading.Thread(target=delete_all, daemon=True)
        worker.start()
        worker.join(budget)
