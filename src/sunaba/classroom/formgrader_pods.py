"""Make the cluster hold a formgrader pod for each synced course and none for retired ones.

Run by `sunaba courses sync` in the hub pod, with the hub's service account (the chart's Role
`sunaba-formgraders` grants what is called here, `API_PERMISSIONS`). Each object is read first:
missing, it is created; made from something else (its digest annotation differs), it is
replaced; otherwise left alone, so a second sync changes nothing. A retired course's objects
are deleted; its course directory, gradebook and submissions stay where they are.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sunaba.config.schema import SiteConfig
from sunaba.deploy.k8s_formgraders import DIGEST_ANNOTATION, formgrader_objects, object_name
from sunaba.grading.pods import current_namespace, in_cluster_configuration

KINDS = ("Secret", "Deployment", "Service")

CREATED = "採点画面のポッドを作りました"
UPDATED = "採点画面のポッドを更新しました"
DELETED = "コースの終了に合わせて採点画面のポッドを削除しました（採点データは残ります）"
NO_PERMISSION = (
    "採点画面のポッドを作る権限がありません。ハブのサービスアカウントに chart の Role"
    "（sunaba-formgraders）が付いているか確認してください（{status} {reason}）"
)
API_FAILED = "採点画面のポッドを Kubernetes に反映できませんでした: {error}"


@dataclass
class FormgraderChanges:
    changes: dict[str, list[str]] = field(default_factory=dict)  # course -> what changed
    problems: list[str] = field(default_factory=list)

    def add(self, course_id: str, what: str) -> None:
        if what not in self.changes.get(course_id, []):
            self.changes.setdefault(course_id, []).append(what)


class _Kinds:
    """The read/create/replace/delete calls of each kind, on one namespace."""

    def __init__(self, core, apps, namespace: str):
        self.namespace = namespace
        self.calls = {
            "Secret": (core, "secret"),
            "Deployment": (apps, "deployment"),
            "Service": (core, "service"),
        }

    def call(self, verb: str, kind: str, *args, **kwargs):
        api, noun = self.calls[kind]
        method = getattr(api, f"{verb}_namespaced_{noun}")
        if verb in ("read", "replace", "delete"):
            name, *rest = args
            return method(name, self.namespace, *rest, **kwargs)
        return method(self.namespace, *args, **kwargs)


async def _read(kinds: _Kinds, kind: str, name: str):
    from kubernetes_asyncio.client.exceptions import ApiException

    try:
        return await kinds.call("read", kind, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


async def _ensure(kinds: _Kinds, wanted: dict) -> str:
    """'created', 'updated' or '' for one object."""
    kind, name = wanted["kind"], wanted["metadata"]["name"]
    existing = await _read(kinds, kind, name)
    if existing is None:
        await kinds.call("create", kind, wanted)
        return "created"
    annotations = existing.metadata.annotations or {}
    if annotations.get(DIGEST_ANNOTATION) == wanted["metadata"]["annotations"][DIGEST_ANNOTATION]:
        return ""
    body = {**wanted, "metadata": {**wanted["metadata"]}}
    body["metadata"]["resourceVersion"] = existing.metadata.resource_version
    if kind == "Service" and existing.spec and existing.spec.cluster_ip:
        # A Service keeps its cluster address: the API refuses to change it.
        body["spec"] = {**body["spec"], "clusterIP": existing.spec.cluster_ip}
    await kinds.call("replace", kind, name, body)
    return "updated"


async def _delete(kinds: _Kinds, kind: str, name: str) -> bool:
    from kubernetes_asyncio.client.exceptions import ApiException

    try:
        await kinds.call("delete", kind, name)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def reconcile(
    config: SiteConfig,
    tokens: dict[str, str],
    retired: list[str],
    configuration,
    namespace: str,
) -> FormgraderChanges:
    """`tokens`: {course id: its formgrader token} of every synced course."""
    from kubernetes_asyncio.client import ApiClient, AppsV1Api, CoreV1Api

    changes = FormgraderChanges()
    async with ApiClient(configuration) as client:
        kinds = _Kinds(CoreV1Api(client), AppsV1Api(client), namespace)
        for course_id, token in sorted(tokens.items()):
            for wanted in formgrader_objects(config, course_id, token):
                done = await _ensure(kinds, wanted)
                if done:
                    changes.add(course_id, CREATED if done == "created" else UPDATED)
        for course_id in sorted(retired):
            # The Service first, so that nothing is routed to a pod on its way out; the Secret
            # last, as the pod reads its token from it.
            for kind in reversed(KINDS):
                if await _delete(kinds, kind, object_name(course_id)):
                    changes.add(course_id, DELETED)
    return changes


def api_problem(exc: BaseException) -> str:
    from kubernetes_asyncio.client.exceptions import ApiException

    if isinstance(exc, ApiException) and exc.status in (401, 403):
        return NO_PERMISSION.format(status=exc.status, reason=exc.reason)
    if isinstance(exc, ApiException):
        return API_FAILED.format(error=f"{exc.status} {exc.reason}")
    return API_FAILED.format(error=f"{type(exc).__name__}: {exc}")


def sync_formgraders(
    config: SiteConfig,
    tokens: dict[str, str],
    retired: list[str],
    *,
    configuration=None,
    namespace: str | None = None,
) -> FormgraderChanges:
    """Bring the cluster in line; an API failure becomes a problem to report, not a crash
    (the courses themselves are synced by then)."""
    try:
        configuration = configuration or in_cluster_configuration()
        return asyncio.run(
            reconcile(config, tokens, retired, configuration, namespace or current_namespace())
        )
    except Exception as exc:  # reported in Japanese with the rest of the sync
        return FormgraderChanges(problems=[api_problem(exc)])
