"""Where grading runs: a backend takes the jobs of one assignment and returns a result for each.
The site's `grading.backend` chooses it, here and nowhere else: `sandbox`, the local pool of
sandboxes run as root (`sunaba.grading.pool`), or `kubernetes`, a grading pod per job
(`sunaba.grading.pods`) for a hub that runs unprivileged in a cluster."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sunaba.config.schema import SiteConfig
from sunaba.grading.jobs import Job, JobResult, settings_for
from sunaba.grading.pods import run_pod_jobs
from sunaba.grading.pool_process import run_in_fresh_process

# The formgrader's single runs (through the exchange service) may overlap a CLI run: their uids
# start past every CLI slot (at most 256 workers, two uids each), so no two live sandboxes share
# a uid and with it a process limit.
FORMGRADER_UID_OFFSET = 2 * 256


class GradingBackend(Protocol):
    def run(
        self,
        course_id: str,
        assignment_id: str,
        jobs: list[Job],
        *,
        uid_offset: int = 0,
        on_done: Callable[[str], None] | None = None,
    ) -> dict[str, JobResult]:
        """{student: JobResult} for every job; raises SandboxError when it cannot grade here."""
        ...


@dataclasses.dataclass(frozen=True)
class LocalSandboxes:
    """A fresh pool process; `on_done(student)` is called (from another thread) as each job
    finishes; `uid_offset` moves the throwaway uids past another run's."""

    config: SiteConfig

    def run(
        self,
        course_id: str,
        assignment_id: str,
        jobs: list[Job],
        *,
        uid_offset: int = 0,
        on_done: Callable[[str], None] | None = None,
    ) -> dict[str, JobResult]:
        config = self.config
        python = str(Path(config.hub.prefix) / "venv" / "bin" / "python")
        settings = settings_for(config, course_id, assignment_id)
        settings = dataclasses.replace(settings, uid_base=settings.uid_base + uid_offset)
        return run_in_fresh_process(python, settings, jobs, on_done)


@dataclasses.dataclass(frozen=True)
class KubernetesPods:
    """A grading pod per job: no uids to offset (pods share nothing); `on_done` is not called,
    the results come all at once."""

    config: SiteConfig

    def run(
        self,
        course_id: str,
        assignment_id: str,
        jobs: list[Job],
        *,
        uid_offset: int = 0,
        on_done: Callable[[str], None] | None = None,
    ) -> dict[str, JobResult]:
        return run_pod_jobs(self.config, course_id, assignment_id, jobs)


BACKENDS: dict[str, Callable[[SiteConfig], GradingBackend]] = {
    "sandbox": LocalSandboxes,
    "kubernetes": KubernetesPods,
}


def grading_backend(config: SiteConfig) -> GradingBackend:
    return BACKENDS[config.grading.backend](config)


def run_jobs(
    config: SiteConfig,
    course_id: str,
    assignment_id: str,
    jobs: list[Job],
    *,
    uid_offset: int = 0,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, JobResult]:
    """Jobs of one assignment through the site's grading backend; {student: JobResult}."""
    return grading_backend(config).run(
        course_id, assignment_id, jobs, uid_offset=uid_offset, on_done=on_done
    )
