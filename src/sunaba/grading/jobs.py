"""What a grading backend is given and gives back: jobs, their results, the settings of a run
(from the site's config) and the error a backend raises when it cannot grade here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.core.layout import courses_dir, graders_dir, grading_root
from sunaba.core.state import public_datasets_dir
from sunaba.grading.judging import JudgeSettings, JudgeSetupError, judge_settings
from sunaba.sandbox.limits import Limits


@dataclass(frozen=True)
class SandboxSettings:
    workers: int
    cell_timeout: int
    notebook_timeout: int
    max_output: int
    limits: Limits
    uid_base: int
    readonly: tuple[str, ...]
    env: dict[str, str]
    scratch_parent: Path
    judge: JudgeSettings | None = None  # None: the course has no graders

    @classmethod
    def from_config(
        cls, config: SiteConfig, course_id: str, assignment_id: str, graders_root: Path
    ) -> SandboxSettings:
        grading = config.grading
        prefix = Path(config.hub.prefix)
        datasets = public_datasets_dir(config)
        try:
            judge = judge_settings(config, course_id, assignment_id, graders_root)
        except JudgeSetupError as exc:
            raise SandboxError(str(exc)) from None
        return cls(
            workers=grading.workers or os.cpu_count() or 1,
            cell_timeout=grading.cell_timeout,
            notebook_timeout=grading.notebook_timeout,
            max_output=parse_size(grading.max_output),
            limits=Limits(
                memory_bytes=parse_size(grading.memory_limit),
                cpu_cores=grading.cpu_limit,
                max_processes=grading.max_processes,
                max_file_bytes=parse_size(config.sandbox.max_file_size),
            ),
            uid_base=grading.sandbox_uid_base,
            # No graders at all: the learner's checks go to the judge, outside.
            readonly=(str(prefix), str(datasets)),
            env={
                "PATH": f"{prefix / 'venv' / 'bin'}:/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "TMPDIR": "/tmp",
                "IPYTHONDIR": "/tmp/ipython",
                "MPLCONFIGDIR": "/tmp/matplotlib",
                "JUPYTER_RUNTIME_DIR": "/tmp/runtime",
                "PYTHONDONTWRITEBYTECODE": "1",
                "NBGRADER_EXECUTION": "autograde",
                "SUNABA_DATASETS_PATH": str(datasets),
            },
            scratch_parent=grading_root(config),
            judge=judge,
        )


@dataclass
class Job:
    student: str
    files: dict[str, bytes]  # the sanitised submission directory, notebooks included
    notebooks: tuple[str, ...]  # which of the files to run, in order


@dataclass
class JobResult:
    executed: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # Japanese, for the instructor's report
    seconds: float = 0.0


class SandboxError(RuntimeError):
    """The grading sandboxes cannot be set up here (message in Japanese)."""


def settings_for(config: SiteConfig, course_id: str, assignment_id: str) -> SandboxSettings:
    graders = graders_dir(config, courses_dir(config).parent / "hub_config")
    return SandboxSettings.from_config(config, course_id, assignment_id, graders)
