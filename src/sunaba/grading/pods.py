"""Run learners' submissions on Kubernetes, each in a grading pod of its own, several at once.

Used instead of `sunaba.grading.sandbox` when `grading.backend` is `kubernetes` (the hub pod runs
as an unprivileged user and cannot build sandboxes; on Kubernetes the pod is the sandbox). Each
pod is made from the chart's grader PodTemplate, built here by the very function that renders it
(`sunaba.deploy.k8s_manifests.grader_template`): no network (the chart's NetworkPolicy selects
the grader label), no service account token, non-root, read-only root filesystem, tight limits.

A pod has two containers. The learner's (`sunaba.grading.inpod`) runs the submission and holds
no grader; the judge (`sunaba.grading.pod_judge`), another uid, gets the course's graders and
answers the kernel's checks over a socket in a volume both mount, as the judge beside a local
sandbox does. The pod needs no network to get its job or give its results: the hub attaches to
each container (the pods/attach API, a websocket to the API server, which reaches the container
through the kubelet): the graders go to the judge, then the job to the learner's container, whose
executed notebooks come back on its stdout; then the judge is told to stop and prints its
record, and the verdicts are given to the cells as on one machine (`pod_results`). A pod killed
for memory, for its deadline, or that dies, turns into the same Japanese notes and cell errors as
a dead kernel. Every pod is deleted afterwards, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from pathlib import Path

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.layout import courses_dir, graders_dir
from sunaba.deploy import k8s_judge
from sunaba.deploy.k8s_manifests import grader_template
from sunaba.grading.jobs import Job, JobResult, SandboxError, SandboxSettings
from sunaba.grading.pod_payloads import (
    PodSettings,
    course_graders,
    job_payload,
    judge_payload,
    pod_manifest,
    refused,
)
from sunaba.grading.pod_results import (
    DEADLINE,
    NOT_STARTED,
    TOO_LARGE,
    PodOutcome,
    job_result,
    verdict_records,
    why_stopped,
)
from sunaba.kube_attach import attached

log = logging.getLogger("sunaba.grading")

# What this backend asks of the Kubernetes API, as RBAC names it; the chart's Role
# (`sunaba.deploy.k8s_manifests.grader_role`) grants exactly this. A websocket attach is a GET
# upgraded; API servers authorise it as `get` or (newer ones) as `create`: both are needed.
API_PERMISSIONS = {"pods": ("create", "delete", "get"), "pods/attach": ("create", "get")}

CONTAINER = "grader"
POLL_SECONDS = 0.5
JUDGE_SECONDS = 30  # for the judge container to listen, and to hand back its record
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def pod_settings(config: SiteConfig, course_id: str, assignment_id: str) -> PodSettings:

    # The same limits and environment as a local sandbox; only where they apply differs. The
    # judge runs in the pod, so no grader account of this machine is looked up (no graders root).
    local = SandboxSettings.from_config(config, course_id, assignment_id, Path(os.devnull))
    graders_root = graders_dir(config, courses_dir(config).parent / "hub_config")
    return PodSettings(
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
        course=course_id,
        assignment=assignment_id,
        graders=course_graders(graders_root, course_id),
        memory_limit=parse_size(config.deploy.k8s.grader_memory),
    )


def current_namespace() -> str:
    """The hub pod's namespace: grading pods go next to it (the Role is namespaced)."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    with contextlib.suppress(OSError):
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return "default"


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
            outcome = await self._judged_exchange(attach, name, job)
            if not outcome.stopped and not outcome.cut:
                pod = await self._final_state(core, name)
                outcome.stopped = why_stopped(pod, self.settings.memory_limit) if pod else ""
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

    async def _judged_exchange(self, attach, name: str, job: Job) -> PodOutcome:
        """The graders to the judge container; once it listens, the job to the learner's;
        once that is done, the judge's record back. No record: `outcome.verdicts` is None,
        and every `assert_check` of the submission fails for want of a verdict."""
        import aiohttp

        said, outcome, learner_started = bytearray(), None, False
        try:
            async with attached(
                attach, name, self.settings.namespace, k8s_judge.CONTAINER
            ) as judge:
                await judge.send(judge_payload(self.settings))
                await read_lines(judge, said, 1)  # {"ready": true}
                learner_started = True
                outcome = await self._exchange(attach, name, job)
                await judge.send(b"done\n")  # any line: the learner's container is done
                await read_lines(judge, said, 2)  # {"verdicts": [...]}
        except (aiohttp.ClientError, ConnectionError) as exc:
            if permission_refused(exc):
                raise attach_refused(exc) from exc
            if learner_started and outcome is None:
                raise  # the learner's exchange failed, not the judge: the run stops
            # The judge ended early (the pod's final state says why): no record.
            log.warning("lost the judge of grading pod %s: %s", name, exc)
        if outcome is None:
            outcome = await self._exchange(attach, name, job)
        outcome.verdicts = verdict_records(bytes(said))
        return outcome

    async def _exchange(self, attach, name: str, job: Job) -> PodOutcome:
        """Send the job on the learner container's stdin; read its stdout until it ends."""
        outcome = PodOutcome()
        limit = self.settings.max_result(job)
        received = bytearray()
        timeout = self.settings.budget(job) + self.settings.deadline_grace
        try:
            async with (
                asyncio.timeout(timeout),
                attached(attach, name, self.settings.namespace, CONTAINER) as stream,
            ):
                await stream.send(job_payload(self.settings, job))
                await stream.read_into(received, enough=lambda data: len(data) > limit)
            if len(received) > limit:
                outcome.problems.append(TOO_LARGE)
                outcome.cut = True
        except TimeoutError:
            outcome.stopped = DEADLINE.format(seconds=timeout)
        except Exception as exc:
            if permission_refused(exc):
                raise attach_refused(exc) from exc
            if not is_handshake_error(exc):
                raise
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


async def read_lines(stream, received: bytearray, lines: int) -> None:
    """Until `received` holds `lines` lines, the stream ends, or the judge is too slow."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(JUDGE_SECONDS):
            await stream.read_into(received, enough=lambda data: data.count(b"\n") >= lines)


def is_handshake_error(exc: BaseException) -> bool:
    import aiohttp

    return isinstance(exc, aiohttp.WSServerHandshakeError)


def permission_refused(exc: BaseException) -> bool:
    return is_handshake_error(exc) and exc.status in (401, 403)


def attach_refused(exc) -> SandboxError:
    return SandboxError(
        "採点用のポッドに接続する権限（pods/attach）がありません。chart の Role "
        f"（sunaba-grading）を確認してください（{exc.status}）"
    )


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
    settings = pod_settings(config, course_id, assignment_id)
    configuration = configuration or in_cluster_configuration()
    return asyncio.run(PodPool(settings, configuration).run(jobs))
