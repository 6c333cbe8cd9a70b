"""A hub serving one of the repository's own courses, for browser walks through real content.

The course file is the test's own copy of `courses/<id>/course.yaml`: the same assignment (its
notebooks read from `exercises/`, its checks from `graders/`), with the test's people and, when
asked, a due date in the past. The course's real datasets are fetched through the open-data
mirror into the prefix, where learners' sandboxes, the check service and the grading sandbox
read them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
import yaml

from sunaba.core.state import public_datasets_dir
from sunaba.courses.model import load_catalogue
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch
from tests.support.courses import CourseWorld
from tests.support.hub import REPO, SunabaHub

MIRROR = REPO.parent / "shared" / "opendata"
COURSES = REPO / "courses"
PAST_DUE = "2020-04-01 17:00"  # already over: the model solution may go out with feedback
PAST_OPENS = "2020-03-01"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"


def remote_datasets(course_id: str) -> list[str]:
    """The course's datasets that come from a public source (not shipped with Sunaba)."""
    course = load_catalogue(COURSES).courses[course_id]
    catalogue = Catalogue([REPO / "datasets"])
    return [n for n in course.datasets if any(r.remote for r in catalogue.get(n).resources)]


def course_copy(
    target: Path,
    course_id: str,
    assignment_id: str,
    *,
    instructor: str,
    learner: str,
    overdue: bool,
) -> Path:
    """courses/<id>/ as the test's own copy: only `assignment_id`, the test's people, and its
    due date moved into the past when `overdue`."""
    source = COURSES / course_id
    assert (source / "course.yaml").is_file(), f"no course file {source}/course.yaml"
    data = yaml.safe_load((source / "course.yaml").read_text(encoding="utf-8"))
    data["instructors"] = [instructor]
    data["graders"] = []
    data["enrolment"] = {"users": [learner], "groups": [], "departments": []}
    data["assignments"] = [a for a in data["assignments"] if a["id"] == assignment_id]
    assert data["assignments"], f"{course_id} has no assignment {assignment_id}"
    if overdue:
        data["assignments"][0].update(opens=PAST_OPENS, due=PAST_DUE, late="accept")
    folder = target / course_id
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    shutil.copy(source / "README.md", folder / "README.md")
    return folder / "course.yaml"


def start_real_course(
    course_id: str,
    assignment_id: str,
    *,
    instructor: str,
    learner: str,
    overdue: bool = False,
    hub_settings: dict | None = None,
) -> CourseWorld:
    """Fetch the course's datasets, sync the course as `sunaba up` does, start the hub."""
    from sunaba.classroom.sync import sync_courses
    from sunaba.config.loader import load_config

    data = Path(tempfile.mkdtemp(prefix="sunaba-test-real-course-"))
    data.chmod(0o755)
    hub = None
    try:
        course_copy(
            data / "courses",
            course_id,
            assignment_id,
            instructor=instructor,
            learner=learner,
            overdue=overdue,
        )
        hub = SunabaHub(
            extra={
                "courses": {
                    "directory": str(data / "courses"),
                    "exercises": str(REPO / "exercises"),
                    "max_submission_size": "20M",
                },
                "checks": {"graders": str(REPO / "graders")},
                "hub": hub_settings or {},
            }
        )
        config = load_config(hub.config_file, environ={})
        remote = remote_datasets(course_id)
        if remote:
            if not MIRROR.is_dir():
                pytest.skip(f"the open-data mirror {MIRROR} is absent")
            results = fetch(
                Catalogue([REPO / "datasets"]), public_datasets_dir(config), remote, mirror=MIRROR
            )
            assert all(r.ok for r in results), [r.message for r in results if not r.ok]
        hub.state_dir.mkdir(mode=0o700)
        report = sync_courses(config, use_running_hub=False)
        assert report.ok, report.lines()
        hub.start()
        return CourseWorld(hub=hub, config=config, data=data)
    except BaseException:
        if hub is not None:
            hub.close()
        shutil.rmtree(data, ignore_errors=True)
        raise


# -- notebooks -----------------------------------------------------------------------------


def source_notebook(course_id: str, assignment_id: str) -> Path:
    """The assignment's (single) source notebook under exercises/."""
    course = load_catalogue(COURSES).courses[course_id]
    assignment = next(a for a in course.assignments if a.id == assignment_id)
    found = sorted((REPO / "exercises" / course_id / assignment.folder).glob("*.ipynb"))
    assert len(found) == 1, f"expected one notebook in {assignment.folder}: {found}"
    return found[0]


def grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "") or ""


def model_answer(cell) -> str:
    """The solution region of a source cell, markers removed, as a learner would type it."""
    lines = []
    for line in cell.source.split("\n"):
        if line.strip() in (SOLUTION_BEGIN, SOLUTION_END):
            continue
        lines.append(line)
    return "\n".join(lines)


def model_answers(source: Path, *, leave_blank: set[str]) -> dict[str, str]:
    """grade_id -> the model answer of every solution cell, except those in `leave_blank`."""
    notebook = nbformat.read(str(source), as_version=4)
    return {
        grade_id(cell): model_answer(cell)
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id(cell) not in leave_blank
    }


def autograded_points(source: Path) -> float:
    total = 0.0
    for cell in nbformat.read(str(source), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            total += float(meta.get("points", 0))
    return total


def total_points(source: Path) -> float:
    return sum(
        float(cell.metadata.get("nbgrader", {}).get("points", 0))
        for cell in nbformat.read(str(source), as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    )


def fill_answers_code(relative: str, answers: dict[str, str]) -> str:
    """Python for the learner's kernel: write `answers` into the solution cells of their
    fetched notebook (what they would have typed for the other questions)."""
    return (
        "import json, pathlib\n"
        f"path = pathlib.Path({relative!r})\n"
        "notebook = json.loads(path.read_text(encoding='utf-8'))\n"
        f"answers = json.loads({json.dumps(answers, ensure_ascii=False)!r})\n"
        "filled = 0\n"
        "for cell in notebook['cells']:\n"
        "    key = cell['metadata'].get('nbgrader', {}).get('grade_id')\n"
        "    if key in answers:\n"
        "        cell['source'] = answers[key]\n"
        "        filled += 1\n"
        "path.write_text(json.dumps(notebook, ensure_ascii=False), encoding='utf-8')\n"
        "print('filled', filled)\n"
    )
