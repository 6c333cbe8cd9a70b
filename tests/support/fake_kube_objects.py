"""Secrets, Services and Deployments of the fake Kubernetes API server (tests.support.fake_kube),
kept as the API server keeps objects: read, create (409 if the name is taken), replace (409 on a
stale `resourceVersion`, 422 on a changed Service `clusterIP`) and delete, each request recorded
as RBAC names it, with its API group (`object_requests`). With `run_deployments`, each
Deployment's pod runs as a local process (tests.support.fake_workloads).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from tests.support.fake_kube import FakeKubernetes

OBJECT_KINDS = (
    ("", "/api/v1", "secrets"),
    ("", "/api/v1", "services"),
    ("apps", "/apis/apps/v1", "deployments"),
)


class ObjectHandlers:
    """Create, read, replace and delete of one resource, as the API server answers them."""

    def __init__(self, fake: FakeKubernetes, group: str, resource: str):
        self.fake, self.group, self.resource = fake, group, resource

    def add_routes(self, app: web.Application, prefix: str) -> None:
        collection = f"{prefix}/namespaces/{{namespace}}/{self.resource}"
        app.router.add_post(collection, self.create)
        app.router.add_get(collection + "/{name}", self.read)
        app.router.add_put(collection + "/{name}", self.replace)
        app.router.add_delete(collection + "/{name}", self.delete)

    def _record(self, verb: str) -> None:
        self.fake.object_requests.append((self.group, self.resource, verb))

    def _stored(self, request, manifest: dict, old: dict | None) -> dict:
        stored = {**manifest, "metadata": {**manifest["metadata"]}}
        metadata = stored["metadata"]
        metadata["namespace"] = request.match_info["namespace"]
        metadata["resourceVersion"] = str(next(self.fake.versions))
        metadata["uid"] = (old or {}).get("metadata", {}).get("uid") or f"uid-{metadata['name']}"
        if self.resource == "secrets" and "stringData" in stored:
            # The API server keeps only `data`, base64-encoded.
            data = {
                k: base64.b64encode(v.encode()).decode() for k, v in stored["stringData"].items()
            }
            stored["data"] = {**stored.get("data", {}), **data}
            del stored["stringData"]
        if self.resource == "services":
            stored["spec"] = {**stored["spec"]}
            old_ip = (old or {}).get("spec", {}).get("clusterIP")
            stored["spec"].setdefault(
                "clusterIP", old_ip or f"10.96.0.{len(self.fake.objects) + 10}"
            )
        return stored

    async def create(self, request):
        self._record("create")
        manifest = await request.json()
        key = (self.resource, manifest["metadata"]["name"])
        if key in self.fake.objects:
            return self.fake._status(409, "AlreadyExists")
        self.fake.objects[key] = self._stored(request, manifest, None)
        await self._run(key)
        return web.json_response(self.fake.objects[key], status=201)

    async def _run(self, key) -> None:
        if self.resource == "deployments" and self.fake.workloads is not None:
            await self.fake.workloads.applied(self.fake.objects[key])

    async def read(self, request):
        self._record("get")
        found = self.fake.objects.get((self.resource, request.match_info["name"]))
        if found is None:
            return self.fake._status(404, "NotFound")
        return web.json_response(found)

    async def replace(self, request):
        self._record("update")
        key = (self.resource, request.match_info["name"])
        old = self.fake.objects.get(key)
        if old is None:
            return self.fake._status(404, "NotFound")
        manifest = await request.json()
        version = manifest["metadata"].get("resourceVersion")
        if version and version != old["metadata"]["resourceVersion"]:
            return self.fake._status(409, "Conflict")
        new_ip = manifest.get("spec", {}).get("clusterIP")
        if self.resource == "services" and new_ip and new_ip != old["spec"]["clusterIP"]:
            return self.fake._status(422, "Invalid")
        self.fake.objects[key] = self._stored(request, manifest, old)
        await self._run(key)
        return web.json_response(self.fake.objects[key])

    async def delete(self, request):
        self._record("delete")
        found = self.fake.objects.pop((self.resource, request.match_info["name"]), None)
        if found is None:
            return self.fake._status(404, "NotFound")
        if self.resource == "deployments" and self.fake.workloads is not None:
            await self.fake.workloads.removed(request.match_info["name"])
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})
