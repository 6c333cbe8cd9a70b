"""An app pod as the runner keeps it, and what a pod's status and the Kubernetes API's errors
mean to the showcase: the words its log and the admins' status page use for a pod that did not
start or ended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sunaba.showcase.runner import AppStartFailed


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
