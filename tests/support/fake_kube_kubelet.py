"""The fake Kubernetes API server's kubelet (tests.support.fake_kube): it "runs" each pod by
starting its container's command as a local process (the real in-pod program), with the pod's
/tmp in a private directory.

Like a kubelet it stops a pod over its memory limit (reported `OOMKilled`, exit 137) or past
`activeDeadlineSeconds` (reported `DeadlineExceeded`), and a container's end kills everything
it started, as the end of its PID namespace would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.support.pod_grading import (
    container_env,
    container_preexec,
    kill_pod_processes,
    pod_processes,
)


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


def exit_state(code: int, killed_for: str = "") -> dict:
    """A container's terminated state, as the kubelet reports it."""
    if killed_for == "OOMKilled":
        return {"reason": "OOMKilled", "exitCode": 137}
    reason = "Completed" if code == 0 else "Error"
    return {"reason": reason, "exitCode": code if code >= 0 else 128 - code}


def record_exit(pod, code: int) -> None:
    """The container's terminated state and the pod's phase, as the kubelet reports them."""
    pod.terminated = exit_state(code, pod.killed_for)
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


async def stop_process(process: asyncio.subprocess.Process, scratch: Path) -> None:
    """One more container of a pod ended, with everything it started."""
    kill_pod_processes(process.pid, scratch)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


class FakeKubelet:
    """Runs the pods of `FakeKubernetes` (its `pods`, `finished` and `start_delay`)."""

    pods: dict[str, FakePod]
    finished: dict[str, FakePod]
    start_delay: float

    def _deleted(self, pod: FakePod) -> bool:
        return pod.manifest["metadata"]["name"] not in self.pods

    async def _kubelet(self, pod: FakePod) -> None:
        await asyncio.sleep(self.start_delay)
        if self._deleted(pod):
            return
        if not await self._start_containers(pod):
            return
        if self._deleted(pod):  # deleted while it started
            await self._stop(pod)
            return
        pod.phase = "Running"
        watch = asyncio.get_running_loop().create_task(self._limits(pod))
        code = await pod.process.wait()
        watch.cancel()
        self._record_exit(pod, code)
        if pod.killed_for == "DeadlineExceeded":
            pod.phase, pod.reason = "Failed", "DeadlineExceeded"

    async def _start_containers(self, pod: FakePod) -> bool:
        """Starts the pod's container (sets `pod.process`); False if the pod failed first."""
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
        return True

    def _record_exit(self, pod: FakePod, code: int) -> None:
        record_exit(pod, code)

    async def _limits(self, pod: FakePod) -> None:
        """The container's memory limit (its processes' proportional share, like a cgroup
        counts shared pages once) and the pod's deadline."""
        limit = int(pod.container["resources"]["limits"]["memory"])
        deadline = time.monotonic() + pod.manifest["spec"]["activeDeadlineSeconds"]
        while True:
            await asyncio.sleep(0.05)
            if self._over_memory(pod, limit):
                return
            if time.monotonic() > deadline:
                pod.killed_for = "DeadlineExceeded"
                self._kill_tree(pod)
                return

    def _over_memory(self, pod: FakePod, limit: int) -> bool:
        """Notes the pod's memory; over `limit`, the pod is killed (`OOMKilled`)."""
        used = tree_pss(pod.process.pid)
        pod.peak_memory = max(pod.peak_memory, used)
        if used > limit:
            pod.killed_for = "OOMKilled"
            self._kill_tree(pod)
        return used > limit

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
