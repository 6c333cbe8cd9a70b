"""Bringing one new app pod up: wait for its init container, send it the snapshot over
pods/attach, then wait until the pod runs, its Voilà server answers and the preheated kernels
are ready (or a time limit passed), as on one machine.
"""

from __future__ import annotations

import asyncio
import json
import time

from sunaba.deploy import k8s_layout as L
from sunaba.kube_attach import attach_exchange
from sunaba.showcase.k8s_pod_status import AppPod, pod_state
from sunaba.showcase.k8s_pods import SNAPSHOT_CONTAINER
from sunaba.showcase.runner import SERVER_START_TIMEOUT, AppStartFailed

POLL_SECONDS = 0.5
ATTACH_SECONDS = 120


class PodLaunch:
    """One start of `pod`, through the runner's API access (`core`: its API client)."""

    def __init__(self, runner, core, pod: AppPod):
        self.runner = runner  # k8s_runner.PodAppRunner: namespace, timeouts, sockets, status
        self.core = core
        self.pod = pod

    async def run(self, payload: bytes) -> None:
        await self.send_snapshot(payload)
        await self.wait_ready()

    async def read(self):
        return await self.core.read_namespaced_pod(self.pod.name, self.runner.namespace)

    async def until(self, ready, timeout: float, what: str):
        """Poll the pod until `ready(pod)`; fail if it ends first or time runs out."""
        pod = self.pod
        deadline = time.monotonic() + timeout
        while True:
            found = await self.read()
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

    async def send_snapshot(self, payload: bytes) -> None:
        def init_running(found) -> bool:
            statuses = found.status.init_container_statuses if found.status else None
            return any(s.state and s.state.running for s in statuses or [])

        await self.until(init_running, self.runner.start_timeout, "did not start")
        answer = await self._attach_and_send(payload)
        try:
            reply = json.loads(answer.strip().splitlines()[-1])
        except (ValueError, IndexError):
            reply = {"ok": False, "error": f"no answer from the snapshot step: {answer[-200:]!r}"}
        if not reply.get("ok"):
            raise AppStartFailed(self.pod.app_id, f"pod {self.pod.name}: {reply.get('error', '')}")

    async def _attach_and_send(self, payload: bytes) -> str:
        received = bytearray()
        async with self.runner._api(websocket=True) as attach, asyncio.timeout(ATTACH_SECONDS):
            await attach_exchange(
                attach,
                self.pod.name,
                self.runner.namespace,
                SNAPSHOT_CONTAINER,
                payload,
                received,
                enough=lambda data: b"\n" in data,
            )
        return received.decode("utf-8", errors="replace")

    async def wait_ready(self) -> None:
        def serving(found) -> bool:
            return bool(found.status and found.status.phase == "Running" and found.status.pod_ip)

        pod = self.pod
        found = await self.until(serving, self.runner.start_timeout, "did not run")
        pod.address = found.status.pod_ip
        self.runner.sockets.register_address(pod.host, pod.address, L.SHOWCASE_APP_PORT)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while await self.runner.status(pod) is None:
            phase, why = pod_state(await self.read())
            if phase != "Running":
                raise AppStartFailed(pod.app_id, f"pod {pod.name} stopped: {phase} {why}".strip())
            if time.monotonic() > deadline:
                raise AppStartFailed(pod.app_id, f"pod {pod.name}: Voilà did not answer")
            await asyncio.sleep(POLL_SECONDS)
        await self._wait_for_pool()

    async def _wait_for_pool(self) -> None:
        """Up. As on one machine: give the preheated pool the time to run the notebook once."""
        showcase = self.runner.config.showcase
        want = min(1, showcase.pool_size)
        deadline = time.monotonic() + showcase.cell_timeout + 30
        while want and time.monotonic() < deadline:
            status = await self.runner.status(self.pod)
            if status and status.get("pool_ready", 0) >= want:
                return
            await asyncio.sleep(POLL_SECONDS)
