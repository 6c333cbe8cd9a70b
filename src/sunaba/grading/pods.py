"""Run learners' submissions on Kubernetes, each in a grading pod of its own, several at once.

Used instead of `sunaba.grading.sandbox` when `grading.backend` is `kubernetes` (the hub pod runs
as an unprivileged user and cannot build sandboxes; on Kubernetes the pod is the sandbox). Each
pod is made from the chart's grader PodTemplate, built here by the very function that renders it
(`sunaba.deploy.k8s_manifests.grader_template`): no network (the chart's NetworkPolicy selects
the grader label), no service account token, non-root, read-only root filesystem, tight limits.

The pod needs no network to get its job or give its results: the hub attaches to the container
(the pods/attach API, a websocket to the API server, which reaches the container through the
kubelet), writes the job as one JSON line on its stdin and reads the executed notebooks from its
stdout (`sunaba.grading.inpod`). A pod killed for memory, for its deadline, or that dies, turns
into the same Japanese notes and cell errors as a dead kernel. Every pod is deleted afterwards,
whatever happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.grading.execute import KERNEL_DIED, human_size, mark_code_cells
from sunaba.grading.inpod import bad_file_name
from sunaba.grading.jobs import Job, JobResult, SandboxError, settings_for
from sunaba.kube_attach import attach_exchange

log = logging.getLogger("sunaba.grading")

# What this backend asks of the Kubernetes API, as RBAC names it; the chart's Role
# (`sunaba.deploy.k8s_manifests.grader_role`) grants exactly this. A websocket attach is a GET
# upgraded; API servers authorise it as `get` or (newer ones) as `create`: both are needed.
API_PERMISSIONS = {"pods": ("create", "delete", "get"), "pods/attach": ("create", "get")}

CONTAINER = "grader"
START_TIMEOUT = 300  # seconds for a pod to be scheduled and its image pulled
DEADLINE_GRACE = 60  # seconds past the executors' own deadlines before a pod is stopped
POLL_SECONDS = 0.5
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

TOO_LARGE = "実行結果が大きすぎるため打ち切りました（出力の上限を超えました）"
UNREADABLE = "採点用の環境から読めない結果が返りました"
NO_RESULT = "{name}: 採点用の環境が途中で止まり、実行結果が返りませんでした"
BROKEN_NOTEBOOK = "提出されたノートブックが読めません（JSON として壊れています）"
BAD_NAME = "提出物のファイル名が不正です: {name!r}"
OOM = "採点用のポッドがメモリの上限（{limit}）を超えたため停止しました"
DEADLINE = "採点用のポッドが制限時間（{seconds}秒）を超えたため停止しました"
CRASHED = "採点用のポッドが異常終了しました（終了コード {code}）"
NOT_STARTED = "採点用のポッドが起動しませんでした（{reason}）"
JOB_REFUSED = "採点用のポッドがこの提出物を実行できませんでした: {error}"


@dataclass(frozen=True)
class PodSettings:
    namespace: str
    workers: int
    template: dict  # the PodTemplate's `template`: metadata and spec of every grading pod
    job_settings: dict  # what the in-pod program needs: timeouts, output cap, environment
    graders: dict[str, bytes]  # this course's grader files, relative to the graders directory
    memory_limit: int
    start_timeout: float = START_TIMEOUT
    deadline_grace: int = DEADLINE_GRACE

    @classmethod
    def from_config(cls, config: SiteConfig, course_id: str, assignment_id: str) -> PodSettings:
        from sunaba.checks.hub import graders_dir
        from sunaba.config.schema import parse_size
        from sunaba.courses.layout import courses_dir
        from sunaba.deploy.k8s_manifests import grader_template

        # The same limits and environment as a local sandbox; only where they apply differs.
        local = settings_for(config, course_id, assignment_id)
        graders_root = graders_dir(config, courses_dir(config).parent / "hub_config")
        return cls(
            namespace=current_namespace(),
            workers=local.workers,
            template=grader_template(config)["template"],
            job_settings={
                "cell_timeout": local.cell_timeout,
                "notebook_timeout": local.notebook_timeout,
                "max_output": local.max_output,
                "max_file_bytes": local.limits.max_file_bytes,
                "env": local.env,
            },
            graders=course_graders(graders_root, course_id),
            memory_limit=parse_size(config.deploy.k8s.grader_memory),
        )

    def budget(self, job: Job) -> int:
        """Seconds the executors may take for `job`, as for a local sandbox."""
        per_notebook = self.job_settings["notebook_timeout"] + self.job_settings["cell_timeout"]
        return len(job.notebooks) * (per_notebook + 30)

    def max_result(self, job: Job) -> int:
        source = sum(len(job.files[name]) for name in job.notebooks)
        return 2 * source + len(job.notebooks) * (self.job_settings["max_output"] + (1 << 20))


def current_namespace() -> str:
    """The hub pod's namespace: grading pods go next to it (the Role is namespaced)."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    with contextlib.suppress(OSError):
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return "default"


def course_graders(graders_root: Path, course_id: str) -> dict[str, bytes]:
    """Only this course's graders, as a local sandbox sees them: another course's expected
    answers stay out of the pod."""
    directory = graders_root / course_id
    if not directory.is_dir():
        return {}
    return {
        str(path.relative_to(graders_root)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def pod_manifest(settings: PodSettings, name: str, job: Job) -> dict:
    """The template as rendered, with a name and this job's deadline."""
    template = copy.deepcopy(settings.template)
    spec = template["spec"]
    # Past the hub's own timeouts: a pod whose hub went away still ends by itself.
    spec["activeDeadlineSeconds"] = int(
        settings.start_timeout + settings.budget(job) + 2 * settings.deadline_grace
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**template["metadata"], "name": name},
        "spec": spec,
    }


def job_payload(settings: PodSettings, job: Job) -> bytes:
    """The one JSON line the in-pod program reads on stdin."""
    b64 = {name: base64.b64encode(data).decode("ascii") for name, data in job.files.items()}
    graders = {k: base64.b64encode(v).decode("ascii") for k, v in settings.graders.items()}
    line = {
        "settings": settings.job_settings,
        "files": b64,
        "notebooks": list(job.notebooks),
        "graders": graders,
    }
    return (json.dumps(line) + "\n").encode("utf-8")


def refused(job: Job) -> JobResult | None:
    """What a local sandbox refuses before starting, refused before a pod is made."""
    bad = bad_file_name(job.files)
    if bad is not None:
        return JobResult(problems=[BAD_NAME.format(name=bad)])
    try:
        for name in job.notebooks:
            json.loads(job.files[name])
    except (KeyError, ValueError):
        return JobResult(problems=[BROKEN_NOTEBOOK])
    return None


# ----------------------------------------------------------------------------------------------
# From what came back to a result


@dataclass
class PodOutcome:
    data: bytes = b""
    problems: list[str] = field(default_factory=list)
    stopped: str = ""  # why the pod stopped early (Japanese), or ""
    cut: bool = False  # the hub stopped reading: the pod is deleted without waiting for it


def job_result(job: Job, outcome: PodOutcome, seconds: float) -> JobResult:
    result = JobResult(problems=list(outcome.problems), seconds=seconds)
    for line in outcome.data.split(b"\n"):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            result.problems.append(UNREADABLE)
            continue
        if isinstance(message, dict) and "error" in message:
            result.problems.append(JOB_REFUSED.format(error=message["error"]))
            continue
        if not isinstance(message, dict) or not isinstance(message.get("notebook"), dict):
            result.problems.append(UNREADABLE)
            continue
        if message.get("name") in job.notebooks:
            # No judge runs beside a pod: whatever verdicts the notebook claims are dropped.
            if isinstance(message["notebook"].get("metadata"), dict):
                message["notebook"]["metadata"].pop("sunaba_judge", None)
            result.executed[message["name"]] = message["notebook"]
    for name in job.notebooks:
        if name in result.executed:
            continue
        if outcome.stopped:
            # As if the kernel had died: every cell of a notebook that did not finish fails.
            notebook = json.loads(job.files[name])
            mark_code_cells(notebook, 0, "KernelDied", f"{KERNEL_DIED}（{outcome.stopped}）")
            result.executed[name] = notebook
            result.problems.append(f"{NO_RESULT.format(name=name)}（{outcome.stopped}）")
        else:
            result.problems.append(NO_RESULT.format(name=name))
    return result


def why_stopped(pod, settings: PodSettings) -> str:
    """From the pod's final status: OOMKilled, over its deadline, or a non-zero exit."""
    status = pod.status
    if status is None:
        return ""
    deadline = DEADLINE.format(seconds=pod.spec.active_deadline_seconds)
    if status.reason == "DeadlineExceeded":
        return deadline
    for container in status.container_statuses or []:
        terminated = container.state.terminated if container.state else None
        if terminated is None:
            continue
        if terminated.reason == "OOMKilled":
            return OOM.format(limit=human_size(settings.memory_limit))
        if terminated.exit_code:
            return CRASHED.format(code=terminated.exit_code)
    return ""


# ----------------------------------------------------------------------------------------------
# Talking to the API


def in_cluster_configuration():
    from kubernetes_asyncio.client import Configuration
    from kubernetes_asyncio.config import ConfigException, load_incluster_config

    # Hub-managed services (the exchange, for the formgrader's button) do not inherit the
    # hub's environment; the API server's cluster DNS name and the mounted token always work.
    os.environ.setdefault("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
    os.environ.setdefault("KUBERNETES_SERVICE_PORT", "443")
    configuration = Configuration()
    try:
        load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise SandboxError(
            f"Kubernetes の API に接続する設定がありません（grading.backend が kubernetes です）: {exc}"
        ) from exc
    return configuration


class PodPool:
    """Runs jobs as pods, `settings.workers` at a time; `run` returns a result for every job."""

    def __init__(self, settings: PodSettings, configuration):
        self.settings = settings
        self.configuration = configuration

    async def run(self, jobs: list[Job]) -> dict[str, JobResult]:
        from kubernetes_asyncio.client import ApiClient, CoreV1Api
        from kubernetes_asyncio.stream import WsApiClient

        gate = asyncio.Semaphore(max(1, self.settings.workers))
        results: dict[str, JobResult] = {}

        async def one(job: Job) -> None:
            async with gate:
                results[job.student] = await self._run_job(job, core, attach)

        async with (
            ApiClient(self.configuration) as rest,
            WsApiClient(self.configuration) as ws,
        ):
            core, attach = CoreV1Api(rest), CoreV1Api(ws)
            try:
                # A failing call cancels the other jobs; each deletes its pod on the way out.
                async with asyncio.TaskGroup() as group:
                    for job in jobs:
                        group.create_task(one(job))
            except ExceptionGroup as errors:
                first = errors
                while isinstance(first, ExceptionGroup):
                    first = first.exceptions[0]
                raise api_error(first) from first
        return results

    async def _run_job(self, job: Job, core, attach) -> JobResult:
        early = refused(job)
        if early is not None:
            return early
        started = time.monotonic()
        name = f"sunaba-grader-{secrets.token_hex(6)}"
        manifest = pod_manifest(self.settings, name, job)
        namespace = self.settings.namespace
        try:
            # Named here, not by the server: the pod can be deleted even if this reply is lost.
            await core.create_namespaced_pod(namespace, manifest)
            waiting = await self._wait_until_running(core, name)
            if waiting:
                outcome = PodOutcome(problems=[NOT_STARTED.format(reason=waiting)])
                return job_result(job, outcome, time.monotonic() - started)
            outcome = await self._exchange(attach, name, job)
            if not outcome.stopped and not outcome.cut:
                pod = await self._final_state(core, name)
                outcome.stopped = why_stopped(pod, self.settings) if pod else ""
            return job_result(job, outcome, time.monotonic() - started)
        finally:
            await self._delete(core, name)

    async def _wait_until_running(self, core, name: str) -> str:
        """Empty once the container runs (or has already ended); else why it still waits."""
        deadline = time.monotonic() + self.settings.start_timeout
        reason = "Pending"
        while time.monotonic() < deadline:
            pod = await core.read_namespaced_pod(name, self.settings.namespace)
            phase = pod.status.phase if pod.status else None
            if phase in ("Running", "Succeeded", "Failed"):
                return ""
            for container in (pod.status.container_statuses if pod.status else None) or []:
                if container.state and container.state.waiting:
                    reason = container.state.waiting.reason or reason
            await asyncio.sleep(POLL_SECONDS)
        return f"{reason}、{int(self.settings.start_timeout)}秒待ちました"

    async def _exchange(self, attach, name: str, job: Job) -> PodOutcome:
        """Send the job on the container's stdin; read its stdout until the container ends."""
        import aiohttp

        outcome = PodOutcome()
        limit = self.settings.max_result(job)
        received = bytearray()
        timeout = self.settings.budget(job) + self.settings.deadline_grace
        payload = job_payload(self.settings, job)
        try:
            async with asyncio.timeout(timeout):
                await attach_exchange(
                    attach,
                    name,
                    self.settings.namespace,
                    CONTAINER,
                    payload,
                    received,
                    enough=lambda data: len(data) > limit,
                )
            if len(received) > limit:
                outcome.problems.append(TOO_LARGE)
                outcome.cut = True
        except TimeoutError:
            outcome.stopped = DEADLINE.format(seconds=timeout)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise SandboxError(
                    "採点用のポッドに接続する権限（pods/attach）がありません。chart の Role "
                    f"（sunaba-grading）を確認してください（{exc.status}）"
                ) from exc
            # The container ended before the hub could attach: its final state says why.
            log.warning("cannot attach to grading pod %s: %s", name, exc.status)
        outcome.data = bytes(received)
        return outcome

    async def _final_state(self, core, name: str):
        """The pod once its container has ended (its stream closes a moment before)."""
        pod = None
        for _ in range(int(30 / POLL_SECONDS)):
            pod = await core.read_namespaced_pod(name, self.settings.namespace)
            phase = pod.status.phase if pod.status else None
            if phase in ("Succeeded", "Failed"):
                return pod
            await asyncio.sleep(POLL_SECONDS)
        return pod

    async def _delete(self, core, name: str) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            await core.delete_namespaced_pod(name, self.settings.namespace, grace_period_seconds=0)
        except ApiException as exc:
            if exc.status != 404:
                log.warning("grading pod %s was not deleted: %s", name, exc.reason)
        except Exception as exc:  # the pod's own deadline still ends it
            log.warning("grading pod %s was not deleted: %s", name, exc)


def api_error(exc: BaseException) -> SandboxError:
    """An API failure as the instructor reads it: the whole run stops, with why."""
    from kubernetes_asyncio.client.exceptions import ApiException

    if isinstance(exc, SandboxError):
        return exc
    if isinstance(exc, ApiException) and exc.status in (401, 403):
        return SandboxError(
            "採点用のポッドを作る権限がありません。ハブのサービスアカウントに chart の "
            f"Role（sunaba-grading）が付いているか確認してください（{exc.status} {exc.reason}）"
        )
    if isinstance(exc, ApiException):
        return SandboxError(f"Kubernetes の API がエラーを返しました（{exc.status} {exc.reason}）")
    return SandboxError(f"Kubernetes の API と通信できませんでした: {type(exc).__name__}: {exc}")


def run_pod_jobs(
    config: SiteConfig,
    course_id: str,
    assignment_id: str,
    jobs: list[Job],
    *,
    configuration=None,
) -> dict[str, JobResult]:
    """Jobs of one assignment, each in a grading pod; {student: JobResult}."""
    settings = PodSettings.from_config(config, course_id, assignment_id)
    configuration = configuration or in_cluster_configuration()
    return asyncio.run(PodPool(settings, configuration).run(jobs))
