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
import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from sunaba.deploy import k8s_layout as L
from tests.support.fake_kube import OUT_CHUNK, FakeKubernetes, FakePod
from tests.support.pod_grading import (
    container_env,
    kill_pod_processes,
    scratch_dir,
    unprivileged,
)


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

    async def _create(self, request):
        self.requests.append(("pods", "create"))
        manifest = await request.json()
        name = manifest["metadata"]["name"]
        if name in self.pods:
            return self._status(409, "AlreadyExists")
        self.created.append(manifest)
        pod = FakeJudgedPod(manifest, scratch_dir())
        self.pods[name] = pod
        self.peak_pods = max(self.peak_pods, len(self.pods))
        asyncio.get_running_loop().create_task(self._kubelet(pod))
        return web.json_response(pod.as_json(), status=201)

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

    async def _kubelet(self, pod: FakeJudgedPod) -> None:
        await asyncio.sleep(self.start_delay)
        if pod.manifest["metadata"]["name"] not in self.pods:
            return
        self._make_volumes(pod)
        for sidecar in pod.manifest["spec"]["containers"][1:]:
            process = await self._start(pod, sidecar)
            pod.sidecars[sidecar["name"]] = process
            asyncio.get_running_loop().create_task(self._sidecar_exit(pod, sidecar, process))
        pod.process = await self._start(pod, pod.container)
        if pod.manifest["metadata"]["name"] not in self.pods:  # deleted while it started
            await self._stop(pod)
            return
        pod.phase = "Running"
        watch = asyncio.get_running_loop().create_task(self._limits(pod))
        code = await pod.process.wait()
        watch.cancel()
        if pod.killed_for == "OOMKilled":
            pod.terminated = {"reason": "OOMKilled", "exitCode": 137}
        else:
            pod.terminated = {"reason": "Completed" if code == 0 else "Error",
                              "exitCode": code if code >= 0 else 128 - code}  # fmt: skip
        if pod.killed_for == "DeadlineExceeded":
            pod.phase, pod.reason = "Failed", "DeadlineExceeded"

    async def _sidecar_exit(self, pod: FakeJudgedPod, container: dict, process) -> None:
        code = await process.wait()
        reason = "Completed" if code == 0 else "Error"
        pod.sidecar_exits[container["name"]] = {
            "reason": reason,
            "exitCode": code if code >= 0 else 128 - code,
        }

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
        ws = web.WebSocketResponse(protocols=("v4.channel.k8s.io",), max_msg_size=0)
        await ws.prepare(request)

        async def forward_stdout():
            while chunk := await process.stdout.read(OUT_CHUNK):
                await ws.send_bytes(b"\x01" + chunk)

        loop = asyncio.get_running_loop()
        forward = loop.create_task(forward_stdout())
        sink = self.stdin.setdefault((request.match_info["name"], name), bytearray())
        reader = loop.create_task(self._stdin_recorded(ws, process, sink))
        await asyncio.wait({forward, reader}, return_when=asyncio.FIRST_COMPLETED)
        if reader.done() and not forward.done():
            forward.cancel()  # the client went away
        else:
            await forward
            reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
        return ws

    async def _stdin_recorded(self, ws, process, sink: bytearray) -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY and message.data[:1] == b"\x00":
                sink += message.data[1:]
                process.stdin.write(message.data[1:])
                with contextlib.suppress(ConnectionError):
                    await process.stdin.drain()
        process.stdin.close()  # stdinOnce: the first attach ending closes stdin

    async def _stop(self, pod) -> None:
        for process in getattr(pod, "sidecars", {}).values():
            kill_pod_processes(process.pid, pod.scratch)
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        await super()._stop(pod)
