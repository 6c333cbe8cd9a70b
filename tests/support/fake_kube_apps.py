"""The fake Kubernetes API server (`fake_kube.FakeKubernetes`), able to run showcase app pods.

Still a mock of the cluster only. What it adds, as a cluster would do it:
- `GET …/pods?labelSelector=…` (listing by label, equality selectors);
- each pod gets its own loopback address (127.x.y.z) as `status.podIP`, and a container's
  `fieldRef: status.podIP` variable is set to it, so an app's Voilà listens where a pod's would;
- init containers: run first, in order, each attachable (pods/attach with `container=<init>`);
  the main container starts only after they all exited 0, otherwise the pod is `Failed`;
- emptyDir volumes are folders of the pod's scratch directory; a container sees its mount paths
  there (paths in its command and environment are mapped), and a `readOnly` mount is made
  read-only (owned by root, no write bits) before the container starts;
- a container over its memory limit is killed and reported `OOMKilled`;
- a pod with volumes but no init container (the showcase's publish-time check) runs the same
  way, its one container attachable when it asks for stdin;
- calls named in `forbidden` are refused (403), as RBAC refuses what a Role does not grant.
The pods' programs run as local processes (as `nobody` when the tests run as root).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.support.fake_kube import PODS, FakeKubernetes
from tests.support.fake_kube_kubelet import FakePod, stop_process
from tests.support.pod_grading import container_env, container_preexec, scratch_dir, unprivileged


@dataclass
class FakeAppPod(FakePod):
    ip: str = ""
    init_process: asyncio.subprocess.Process | None = None
    init_terminated: dict | None = None
    volumes: dict[str, Path] = field(default_factory=dict)

    @property
    def init_containers(self) -> list[dict]:
        return self.manifest["spec"].get("initContainers", [])

    @property
    def with_volumes(self) -> bool:
        """Run with its init containers and volumes (else as the plain kubelet runs a pod)."""
        return bool(self.init_containers or self.manifest["spec"].get("volumes"))

    def as_json(self) -> dict:
        found = super().as_json()
        status = found["status"]
        if self.ip:
            status["podIP"] = self.ip
        if self.init_containers:
            if self.init_terminated is not None:
                state = {"terminated": self.init_terminated}
            elif self.init_process is not None:
                state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
            else:
                state = {"waiting": {"reason": "PodInitializing"}}
            init = self.init_containers[0]
            status["initContainerStatuses"] = [
                {
                    "name": init["name"],
                    "state": state,
                    "ready": self.init_terminated is not None,
                    "restartCount": 0,
                    "image": init["image"],
                    "imageID": "",
                }
            ]
        return found


def matches(labels: dict, selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeAppCluster(FakeKubernetes):
    # Calls answered 403, as for a service account whose Role lacks them: {(resource, verb)}.
    forbidden: set[tuple[str, str]] = frozenset()
    object_kinds = ()  # pods only

    def _routes(self, app: web.Application) -> None:
        super()._routes(app)
        app.router.add_get(PODS, self._list)

    # -- the API

    async def _create(self, request):
        if ("pods", "create") in self.forbidden:
            self.requests.append(("pods", "create"))
            return self._status(403, "Forbidden")
        return await super()._create(request)

    def _new_pod(self, manifest: dict) -> FakeAppPod:
        return FakeAppPod(manifest, scratch_dir(), ip=self._new_ip())

    def _new_ip(self) -> str:
        taken = {getattr(pod, "ip", "") for pod in [*self.pods.values(), *self.finished.values()]}
        while True:
            ip = f"127.{random.randint(20, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
            if ip not in taken:
                return ip

    async def _list(self, request):
        self.requests.append(("pods", "list"))
        selector = request.query.get("labelSelector", "")
        items = [
            pod.as_json()
            for pod in self.pods.values()
            if matches(pod.manifest["metadata"].get("labels", {}), selector)
        ]
        return web.json_response(
            {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
        )

    async def _attach(self, request):
        pod = self.pods.get(request.match_info["name"])
        names = [c["name"] for c in pod.init_containers] if isinstance(pod, FakeAppPod) else []
        if request.query.get("container") not in names:
            return await super()._attach(request)
        self.requests.append(("pods/attach", "get"))
        process = pod.init_process
        init = pod.init_containers[0]
        if process is None or pod.init_terminated is not None or not init.get("stdin"):
            return self._status(400, "BadRequest")
        return await self._relay(await self._websocket(request), process)

    # -- the kubelet, for pods with init containers and volumes

    def _mounts(self, pod: FakeAppPod, container: dict) -> list[tuple[str, Path]]:
        found = [(m["mountPath"], pod.volumes[m["name"]]) for m in container["volumeMounts"]]
        return sorted(found, key=lambda item: -len(item[0]))

    def _localize(self, text: str, mounts: list[tuple[str, Path]]) -> str:
        for mount, local in mounts:
            text = re.sub(rf"(?<![\w/]){re.escape(mount)}(?=[/\"']|$)", str(local), text)
        return text

    def _env(self, pod: FakeAppPod, container: dict, mounts) -> dict[str, str]:
        env = container_env(pod.volumes.get("tmp", pod.scratch))
        env.pop("PYTHONPATH")  # the image's own Sunaba (the runtime's) is the one that runs
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = self._localize(item["value"], mounts)
            elif item.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
                env[item["name"]] = pod.ip
        return env

    async def _start_container(self, pod: FakeAppPod, container: dict, stdin: bool):
        mounts = self._mounts(pod, container)
        log = open(pod.scratch / f"{container['name']}.log", "ab")  # noqa: SIM115
        try:
            return await asyncio.create_subprocess_exec(
                *[self._localize(arg, mounts) for arg in container["command"]],
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if stdin else log,
                stderr=log,
                env=self._env(pod, container, mounts),
                cwd=pod.volumes.get("tmp", pod.scratch),
                preexec_fn=container_preexec(),
            )
        finally:
            log.close()

    def _make_volumes(self, pod: FakeAppPod) -> None:
        account = unprivileged()
        for volume in pod.manifest["spec"].get("volumes", []):
            path = pod.scratch / f"volume-{volume['name']}"
            path.mkdir()
            if account is not None:
                os.chown(path, account.pw_uid, account.pw_gid)
            pod.volumes[volume["name"]] = path

    def _make_read_only(self, pod: FakeAppPod, container: dict) -> None:
        for mount in container["volumeMounts"]:
            if not mount.get("readOnly"):
                continue
            for directory, _dirs, files in os.walk(pod.volumes[mount["name"]]):
                for path in [directory, *(os.path.join(directory, f) for f in files)]:
                    if os.geteuid() == 0:
                        os.chown(path, 0, 0)
                    os.chmod(path, 0o555 if path == directory else 0o444)

    async def _start_containers(self, pod: FakeAppPod) -> bool:
        if not pod.with_volumes:
            return await super()._start_containers(pod)
        self._make_volumes(pod)
        for init in pod.init_containers[:1]:
            stdin = bool(init.get("stdin"))
            pod.init_process = await self._start_container(pod, init, stdin=stdin)
            code = await pod.init_process.wait()
            pod.init_terminated = {
                "reason": "Completed" if code == 0 else "Error",
                "exitCode": code,
            }
            if code != 0 or self._deleted(pod):
                pod.phase = "Failed"
                return False
        container = pod.container
        self._make_read_only(pod, container)
        stdin = bool(container.get("stdin"))
        pod.process = await self._start_container(pod, container, stdin=stdin)
        return True

    async def _limits(self, pod: FakeAppPod) -> None:
        """A pod run with volumes has a memory limit but no deadline."""
        if not pod.with_volumes:
            return await super()._limits(pod)
        limit = int(pod.container["resources"]["limits"]["memory"])
        while True:
            await asyncio.sleep(0.2)
            if self._over_memory(pod, limit):
                return

    async def _stop(self, pod) -> None:
        init = getattr(pod, "init_process", None)
        if init is not None:
            await stop_process(init, pod.scratch)
        await super()._stop(pod)

    def output_of(self, name: str) -> str:
        """What a pod's containers wrote (for a failing test's message)."""
        pod = self.pods.get(name) or self.finished.get(name)
        if pod is None:
            return ""
        return "\n".join(
            path.read_text(errors="replace")[-3000:] for path in sorted(pod.scratch.glob("*.log"))
        )
