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

from tornado.httpclient import HTTPClientError

from sunaba.config.schema import SiteConfig
from sunaba.grading.pods import current_namespace, in_cluster_configuration
from sunaba.showcase.apphome import AppHome
from sunaba.showcase.k8s_pod_launch import PodLaunch
from sunaba.showcase.k8s_pod_status import AppPod, pod_state, start_failure
from sunaba.showcase.k8s_pods import (
    APP_LABEL,
    app_pod,
    app_selector,
    pod_name,
    snapshot_payload,
)
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.runner import app_base_url
from sunaba.showcase.sockets import SocketDirectory

log = logging.getLogger("sunaba.showcase")

POD_START_TIMEOUT = 300.0  # scheduling and pulling the image, before the server's own timeout
WATCH_SECONDS = 5.0
# Pages still streaming from the previous version's pod when viewers switch are let finish.
DRAIN_SECONDS = 15.0


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
            pod = AppPod(app_id, version, name, f"app-{app_id}-{secrets.token_hex(3)}.pod")
            await self._launch(pod, manifest, payload)
            await self._switch_to(pod, previous)
            log.info("app %s serves version %s from pod %s", app_id, version, name)
            return pod

    async def _launch(self, pod: AppPod, manifest: dict, payload: bytes) -> None:
        """Create the pod and bring it up; if it fails, delete it and record why."""
        try:
            async with self._api() as core:
                # Named here, not by the server: it can be deleted even if the reply is lost.
                await core.create_namespaced_pod(self.namespace, manifest)
                await PodLaunch(self, core, pod).run(payload)
        except BaseException as exc:  # also cancelled: the service is stopping
            with contextlib.suppress(Exception):  # else the next start or stop deletes it
                await self._delete(pod)
            failure = start_failure(pod.app_id, exc)
            if failure is None:
                raise
            self.failures[pod.app_id] = failure.log_tail
            if failure is exc:
                raise
            raise failure from exc

    async def _switch_to(self, pod: AppPod, previous: AppPod | None) -> None:
        """Viewers go to the new pod; the old ones go once their pages are done."""
        self.failures.pop(pod.app_id, None)
        pod.started = time.monotonic()
        self.live[pod.app_id] = pod
        if previous is not None:
            self.sockets.unregister(previous.host)  # new requests go to the new pod
        # The previous version's pod, and any that a killed service left behind.
        others = await self._app_pod_names(pod.app_id)
        others.discard(pod.name)
        if others:
            self._in_background(self._retire(others, self.drain_seconds))
        self._ensure_watcher()

    async def _read_pod(self, core, pod: AppPod):
        return await core.read_namespaced_pod(pod.name, self.namespace)

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
