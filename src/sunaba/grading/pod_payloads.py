"""What the hub sends a grading pod: its manifest, the learner container's job and the judge
container's graders (`sunaba.grading.pods` runs them; `sunaba.grading.inpod` and
`sunaba.grading.pod_judge` read them). The course's graders go to the judge container only: the
learner container's job holds the submission and the limits, nothing of a grader."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path

from sunaba.grading.inpod import bad_file_name
from sunaba.grading.jobs import Job, JobResult

BROKEN_NOTEBOOK = "提出されたノートブックが読めません（JSON として壊れています）"
BAD_NAME = "提出物のファイル名が不正です: {name!r}"
START_TIMEOUT = 300  # seconds for a pod to be scheduled and its image pulled
DEADLINE_GRACE = 60  # seconds past the executors' own deadlines before a pod is stopped


@dataclass(frozen=True)
class PodSettings:
    namespace: str
    workers: int
    template: dict  # the PodTemplate's `template`: metadata and spec of every grading pod
    job_settings: dict  # what the in-pod program needs: timeouts, output cap, environment
    course: str
    assignment: str
    graders: dict[str, bytes]  # this course's grader files, for the judge container only
    memory_limit: int
    start_timeout: float = START_TIMEOUT
    deadline_grace: int = DEADLINE_GRACE

    def budget(self, job: Job) -> int:
        """Seconds the executors may take for `job`, as for a local sandbox."""
        per_notebook = self.job_settings["notebook_timeout"] + self.job_settings["cell_timeout"]
        return len(job.notebooks) * (per_notebook + 30)

    def max_result(self, job: Job) -> int:
        source = sum(len(job.files[name]) for name in job.notebooks)
        return 2 * source + len(job.notebooks) * (self.job_settings["max_output"] + (1 << 20))


def course_graders(graders_root: Path, course_id: str) -> dict[str, bytes]:
    """Only this course's graders, as a local judge sees them: another course's expected
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


def _b64(files: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in files.items()}


def job_payload(settings: PodSettings, job: Job) -> bytes:
    """The one JSON line the learner container's program reads on stdin."""
    line = {
        "settings": settings.job_settings,
        "files": _b64(job.files),
        "notebooks": list(job.notebooks),
    }
    return (json.dumps(line) + "\n").encode("utf-8")


def judge_payload(settings: PodSettings) -> bytes:
    """The one JSON line the judge container's program reads on stdin."""
    graders = _b64(settings.graders)
    line = {"course": settings.course, "assignment": settings.assignment, "graders": graders}
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
