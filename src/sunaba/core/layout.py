"""Where everything of a course lives, and under which names.

    courses/<id>/course.yaml, README.md        the course as data (checkout)
    exercises/<id>/<assignment>/               nbgrader source notebooks (checkout)
    <grading_dir>/                             root, 0711: reachable, not listable
    <grading_dir>/<id>/                        grader account, 0700: its home and the nbgrader
                                               course directory (source/, release/, submitted/,
                                               autograded/, feedback/, gradebook.db)
    <state_dir>/exchange/<id>/                 root, inside the 0700 state dir: released
                                               assignments, every submission, feedback

The state dir stays 0700 root; a grader account could not even traverse it, which is why the
course directories have their own root. Learners' sandboxes contain none of these paths.
On Kubernetes there are no grader accounts: the course directories belong to the hub's user,
on a volume of their own (`sunaba.courses.hub_owned`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sunaba.config.loader import repo_root
from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths

LEARNER_GROUP = "nbgrader-{}"
GRADER_GROUP = "formgrade-{}"
FORMGRADER_SERVICE = "formgrader-{}"
EXCHANGE_SERVICE = "sunaba-exchange"
GRADEBOOK = "gradebook.db"


def courses_dir(config: SiteConfig, hub_config_dir: Path | None = None) -> Path:
    if config.courses.directory:
        return Path(config.courses.directory)
    if hub_config_dir is not None:
        return hub_config_dir.parent / "courses"
    root = repo_root()
    return (root or Path.cwd()) / "courses"


def exercises_dir(config: SiteConfig, hub_config_dir: Path | None = None) -> Path:
    if config.courses.exercises:
        return Path(config.courses.exercises)
    return courses_dir(config, hub_config_dir).parent / "exercises"


def graders_dir(config: SiteConfig, hub_config_dir: Path | None = None) -> Path:
    """The instructors' graders (`sunaba.checks`): beside hub_config/ unless the site says."""
    if config.checks.graders:
        return Path(config.checks.graders)
    if hub_config_dir is not None:
        return Path(hub_config_dir).parent / "graders"
    return (repo_root() or Path(__file__).resolve().parents[3]) / "graders"


def grading_root(config: SiteConfig) -> Path:
    if config.courses.grading_dir:
        return Path(config.courses.grading_dir)
    state = Path(config.hub.state_dir)
    return state.with_name(state.name + "-courses")


def exchange_root(config: SiteConfig) -> Path:
    return StatePaths.from_config(config).root / "exchange"


def grader_account(config: SiteConfig, course_id: str) -> str:
    """The Unix account of a course's grader. Hub names start with a letter, so the `_` after
    the prefix keeps it apart from every learner account (`<prefix><hub name>`)."""
    return f"{config.sandbox.user_prefix}_{course_id}"


@dataclass(frozen=True)
class CoursePaths:
    course_id: str
    root: Path  # the grader's home and nbgrader course directory

    @classmethod
    def of(cls, config: SiteConfig, course_id: str) -> CoursePaths:
        return cls(course_id, grading_root(config) / course_id)

    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK

    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment
