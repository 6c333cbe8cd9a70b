"""The publish-time check on Kubernetes: run the snapshot headless in a pod of its own.

On one machine the check runs as the app's account in a sandbox with no network. Here the pod is
the sandbox, made like an app's pod (`k8s_pods`): the learner image, the learners' security
context, the app's limits, no service account token, and the app pods' role label, so the chart's
NetworkPolicy for apps applies (traffic in from the hub pod only, none out). It has a deadline
of its own (`activeDeadlineSeconds`) in case the service goes away mid-check.

As for grading pods (`sunaba.grading.pods`): the job goes in on the container's stdin over
pods/attach, the result comes back on its stdout, and the pod is deleted afterwards whatever
happened. The attach and polling are the app runner's (`k8s_runner`), so the showcase asks the
API for nothing its Role (`k8s_rbac.showcase_rbac`) does not already grant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from pathlib import Path, PurePosixPath

from sunaba.config.schema import SiteConfig
from sunaba.deploy import k8s_layout as L
from sunaba.deploy.k8s_values import kubespawner_traits
from sunaba.kube_attach import attach_exchange
from sunaba.showcase.k8s_pods import encoded_files, pod_volumes, stdin_container

CHECK_LABEL = "sunaba.jp/showcase-check"
CHECK_CONTAINER = "check"
MAX_ANSWER = 4 << 20  # the result holds at most a few tracebacks cut to 4000 characters
DEADLINE_GRACE = 120  # seconds past the check's own budget before the pod stops itself


def check_pod_name(app_id: int) -> str:
    return f"sunaba-check-{app_id}-{secrets.token_hex(4)}"


def check_pod(config: SiteConfig, name: str, app_id: int, budget: int, start: float) -> dict:
    security = kubespawner_traits(config)  # exactly what learners' and apps' pods get
    module = "sunaba.showcase.sandboxed.check_in_pod"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "sunaba",
                # The apps' NetworkPolicy: no traffic out. No app label: the runner's listing
                # of an app's pods (to retire or purge them) never sees a check.
                L.ROLE_LABEL: L.SHOWCASE_APP_ROLE,
                CHECK_LABEL: str(app_id),
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": int(start + budget + DEADLINE_GRACE),
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": dict(security["pod_security_context"]),
            "containers": [stdin_container(config, security, CHECK_CONTAINER, module)],
            "volumes": pod_volumes(config),
        },
    }


def check_payload(folder: Path, notebook: str, timeout: int) -> bytes:
    """The one JSON line `sandboxed/check_in_pod.py` reads: the snapshot and what to run."""
    line = {
        "files": encoded_files(folder),
        "notebook": str(PurePosixPath(notebook)),
        "timeout": timeout,
    }
    return (json.dumps(line) + "\n").encode("utf-8")


def last_result(answer: bytes) -> dict | None:
    """The program's result is its last line (the notebook's own writes come before it)."""
    for line in reversed(answer.decode("utf-8", errors="replace").splitlines()):
        if line.strip():
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) and "ok" in found else None
    return None


def ended_result(pod, fallback: str) -> dict:
    """No result came back: why, from the pod's final state, as `headless_check` words it."""
    status = pod.status if pod is not None else None
    if status is not None and status.reason == "DeadlineExceeded":
        return {"ok": False, "kind": "timeout", "number": None}
    for container in (status.container_statuses if status else None) or []:
        terminated = container.state.terminated if container.state else None
        if terminated is not None and terminated.reason == "OOMKilled":
            return {"ok": False, "kind": "dead", "number": None, "evalue": "OOMKilled"}
    return {"ok": False, "kind": "dead", "number": None, "evalue": fallback}


class PodCheck:
    """Runs one snapshot's check in a pod, through the app runner's API access."""

    def __init__(self, runner, config: SiteConfig):
        self.runner = runner  # k8s_runner.PodAppRunner: configuration, namespace, start timeout
        self.config = config

    async def run(self, app_id: int, folder: Path, notebook: str, budget: int) -> dict:
        name = check_pod_name(app_id)
        timeout = self.config.showcase.cell_timeout
        payload = await asyncio.to_thread(check_payload, folder, notebook, timeout)
        manifest = check_pod(self.config, name, app_id, budget, self.runner.start_timeout)
        try:
            async with self.runner._api() as core:
                # Named here, not by the server: it is deleted even if this reply is lost.
                await core.create_namespaced_pod(self.runner.namespace, manifest)
                if not await self._wait_running(core, name):
                    pod = await core.read_namespaced_pod(name, self.runner.namespace)
                    return ended_result(pod, "the check pod did not start")
            try:
                answer = await asyncio.wait_for(self._exchange(name, payload), budget)
            except TimeoutError:
                return {"ok": False, "kind": "timeout", "number": None}
            found = last_result(answer)
            if found is not None:
                return found
            async with self.runner._api() as core:
                pod = await self._final_state(core, name)
            return ended_result(pod, answer.decode(errors="replace")[-500:])
        finally:
            with contextlib.suppress(Exception):  # the pod's own deadline still ends it
                async with self.runner._api() as core:
                    await self.runner._delete_named(core, name)

    async def _wait_running(self, core, name: str) -> bool:
        deadline = time.monotonic() + self.runner.start_timeout
        while time.monotonic() < deadline:
            pod = await core.read_namespaced_pod(name, self.runner.namespace)
            phase = pod.status.phase if pod.status else None
            if phase == "Running":
                return True
            if phase in ("Succeeded", "Failed"):
                return False
            await asyncio.sleep(0.5)
        return False

    async def _final_state(self, core, name: str):
        pod = None
        for _ in range(60):  # its stream closes a moment before the pod reports its end
            pod = await core.read_namespaced_pod(name, self.runner.namespace)
            if pod.status and pod.status.phase in ("Succeeded", "Failed"):
                return pod
            await asyncio.sleep(0.5)
        return pod

    async def _exchange(self, name: str, payload: bytes) -> bytes:
        """Send the job on stdin; read stdout until the container ends (or too much came)."""
        received = bytearray()
        async with self.runner._api(websocket=True) as attach:
            await attach_exchange(
                attach,
                name,
                self.runner.namespace,
                CHECK_CONTAINER,
                payload,
                received,
                enough=lambda data: len(data) > MAX_ANSWER,
            )
        return bytes(received)
