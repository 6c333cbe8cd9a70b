"""The fake Kubernetes API server (`fake_kube.FakeKubernetes`) running grading pods with their
judge container beside the learner's.

Still a mock of the cluster only. What it adds, as a kubelet would do it:
- every container of a pod runs, at once, as a local process of its own, each attachable
  (pods/attach with `container=<name>`); the pod is Running once all run, Succeeded once all
  exited 0, Failed once all exited and one did not;
- emptyDir volumes are folders of the pod's scratch directory; a container sees its mount paths
  there (paths in its environment are mapped); its `/tmp` is its own volume's folder;
- uids: with the tests run as root, a container runs as the local uid its `runAsUser` maps to
  (the learner's uid as `nobody`, as in every grading-pod test; any other uid as itself, no
  account needed), and a `*_UID` variable naming a container's uid is mapped the same way;
  a volume mounted read-write by one container and read-only by others belongs to that
  container's uid (mode 0755): the others can read it but not write, as with a read-only mount.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.deploy import k8s_layout as L
from tests.support.fake_kube import FakeKubernetes
from tests.support.fake_kube_kubelet import FakePod, exit_state, stop_process
from tests.support.pod_grading import container_env, scratch_dir, unprivileged


@dataclass
class FakeJudgedPod(FakePod):
    sidecars: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    sidecar_exits: dict[str, dict] = field(default_factory=dict)
    volumes: dict[str, Path] = field(default_factory=dict)

    def process_of(self, name: str):
        return self.process if name == self.container["name"] else self.sidecars.get(name)

    def as_json(self) -> dict:
        found = super().as_json()
        for container in self.manifest["spec"]["containers"][1:]:
            name = container["name"]
            if name in self.sidecar_exits:
                state = {"terminated": self.sidecar_exits[name]}
            elif name in self.sidecars:
                state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
            else:
                state = {"waiting": {"reason": "ContainerCreating"}}
            found["status"]["containerStatuses"].append(
                {"name": name, "state": state, "ready": "running" in state, "restartCount": 0,
                 "image": container["image"], "imageID": ""}
            )  # fmt: skip
        found["status"]["phase"] = self.pod_phase()
        return found

    def pod_phase(self) -> str:
        if self.killed_for == "DeadlineExceeded" or self.phase == "Pending":
            return self.phase
        exits = [self.terminated, *self.sidecar_exits.values()]
        if None in exits or len(exits) < len(self.manifest["spec"]["containers"]):
            return "Running"
        return "Succeeded" if all(e["exitCode"] == 0 for e in exits) else "Failed"


def local_uid(uid: int) -> int:
    account = unprivileged()
    if account is None:
        return os.getuid()
    return account.pw_uid if uid == L.LEARNER_UID else uid


class FakeJudgedCluster(FakeKubernetes):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stdin: dict[tuple[str, str], bytearray] = {}  # (pod, container) -> what it was sent

    def _new_pod(self, manifest: dict) -> FakeJudgedPod:
        return FakeJudgedPod(manifest, scratch_dir())

    # -- volumes and containers

    def _make_volumes(self, pod: FakeJudgedPod) -> None:
        os.chmod(pod.scratch, 0o711)  # noqa: S103 (every container's uid reaches its own volumes)
        containers = pod.manifest["spec"]["containers"]
        for volume in pod.manifest["spec"]["volumes"]:
            if "emptyDir" not in volume:
                continue
            path = pod.scratch / f"volume-{volume['name']}"
            path.mkdir()
            writers = [
                c for c in containers
                for m in c["volumeMounts"]
                if m["name"] == volume["name"] and not m.get("readOnly")
            ]  # fmt: skip
            if writers:
                os.chown(path, local_uid(writers[0]["securityContext"]["runAsUser"]), -1)
            readers = any(
                m["name"] == volume["name"] for c in containers for m in c["volumeMounts"]
            )
            os.chmod(path, 0o755 if readers and len(writers) == 1 else 0o700)
            pod.volumes[volume["name"]] = path

    def _mounts(self, pod: FakeJudgedPod, container: dict) -> list[tuple[str, Path]]:
        found = [
            (m["mountPath"], pod.volumes[m["name"]])
            for m in container["volumeMounts"]
            if m["name"] in pod.volumes
        ]
        return sorted(found, key=lambda item: -len(item[0]))

    def _env(self, pod: FakeJudgedPod, container: dict) -> dict[str, str]:
        mounts = self._mounts(pod, container)
        env = container_env(dict(mounts).get("/tmp", pod.scratch))
        for item in container.get("env", []):
            value = item["value"]
            for mount, local in mounts:  # the longest mount path that holds the value
                if re.match(rf"{re.escape(mount)}(/|$)", value):
                    value = str(local) + value[len(mount) :]
                    break
            if item["name"].endswith("_UID"):
                value = str(local_uid(int(value)))
            if item["name"] not in ("HOME", "TMPDIR"):
                env[item["name"]] = value
        return env

    async def _start(self, pod: FakeJudgedPod, container: dict):
        uid = local_uid(container["securityContext"]["runAsUser"])
        gid = unprivileged().pw_gid if unprivileged() else os.getgid()

        def become() -> None:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        return await asyncio.create_subprocess_exec(
            *container["command"],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=self._env(pod, container),
            cwd=dict(self._mounts(pod, container)).get("/tmp", pod.scratch),
            preexec_fn=become,
        )

    async def _start_containers(self, pod: FakeJudgedPod) -> bool:
        """The volumes, then every container at once: the others first, the learner's last."""
        self._make_volumes(pod)
        for sidecar in pod.manifest["spec"]["containers"][1:]:
            process = await self._start(pod, sidecar)
            pod.sidecars[sidecar["name"]] = process
            asyncio.get_running_loop().create_task(self._sidecar_exit(pod, sidecar, process))
        pod.process = await self._start(pod, pod.container)
        return True

    def _record_exit(self, pod: FakeJudgedPod, code: int) -> None:
        pod.terminated = exit_state(code, pod.killed_for)  # the phase is pod_phase()'s

    async def _sidecar_exit(self, pod: FakeJudgedPod, container: dict, process) -> None:
        code = await process.wait()
        pod.sidecar_exits[container["name"]] = exit_state(code)

    # -- attach

    async def _attach(self, request):
        self.requests.append(("pods/attach", "get"))
        pod = self.pods.get(request.match_info["name"])
        if pod is None:
            return self._status(404, "NotFound")
        name = request.query.get("container")
        process = pod.process_of(name)
        exited = pod.terminated if name == pod.container["name"] else pod.sidecar_exits.get(name)
        if process is None or exited is not None or request.query.get("stdin") != "True":
            return self._status(400, "BadRequest")
        ws = await self._websocket(request)
        sink = self.stdin.setdefault((request.match_info["name"], name), bytearray())
        return await self._relay(ws, process, sink)

    async def _stop(self, pod) -> None:
        for process in getattr(pod, "sidecars", {}).values():
            await stop_process(process, pod.scratch)
        await super()._stop(pod)
