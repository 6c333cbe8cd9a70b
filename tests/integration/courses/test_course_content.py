"""Content tests collected from the content: every assignment of every course in `courses/` is a
test case by existing. Its solution (the source notebooks) must autograde to full marks on the
autograded part, and the released blank version to zero. Graded exactly as learners are: the
worker runs nbgrader as a grader account in a private course directory."""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from sunaba.config.loader import validate
from sunaba.core.archive import collect_files
from sunaba.core.layout import grader_account
from sunaba.core.state import public_datasets_dir
from sunaba.courses.accounts import ensure_grader
from sunaba.courses.course_settings import course_nbgrader_config
from sunaba.courses.model import load_catalogue
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.fetch import fetch
from sunaba.grading.cycle import SandboxedAutograder
from sunaba.grading.runner import files_from, run_step
from tests.support.courses import tar_of
from tests.support.hub import PREFIX, REPO

pytestmark = pytest.mark.integration

CATALOGUE = load_catalogue(REPO / "courses")
CASES = [
    pytest.param(course_id, a.id, id=f"{course_id}/{a.id}")
    for course_id, course in CATALOGUE.courses.items()
    for a in course.assignments
]


def test_every_course_file_is_valid():
    assert CATALOGUE.problems == {}
    assert CATALOGUE.courses, "no course in courses/"


def autograded_points(folder: Path) -> float:
    """Points of the test cells (graded, not a written answer) in the source notebooks."""
    total = 0.0
    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                total += float(meta.get("points", 0))
    return total


def collect_archive(submissions: dict[str, dict[str, bytes]]) -> bytes:
    """What a collect hands the worker: `<student>/<attempt>/<file>`."""
    return tar_of(
        {
            f"{student}/20250401T000000.000000Z/{name}": data
            for student, files in submissions.items()
            for name, data in files.items()
        }
    )


MIRROR = REPO.parent / "shared" / "opendata"


def needed_datasets() -> list[str]:
    """The real datasets the courses name: the ones fetched from a public source."""
    catalogue = Catalogue([REPO / "datasets"])
    names = sorted({name for course in CATALOGUE.courses.values() for name in course.datasets})
    return [n for n in names if any(r.remote for r in catalogue.get(n).resources)]


@pytest.fixture(scope="module")
def config():
    """A private state dir on the test prefix; the courses' real datasets fetched into the
    prefix's public datasets tree through the mirror, where grading sandboxes read them."""
    tag = secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix="sunaba-test-content-"))
    root.chmod(0o755)  # the grader account must reach its directory below
    config = validate(
        {
            "hub": {"state_dir": str(root / "state"), "prefix": str(PREFIX)},
            "sandbox": {"user_prefix": f"sbt{tag}-"},
            "courses": {"directory": str(REPO / "courses"), "exercises": str(REPO / "exercises")},
        },
        "content test",
    )
    remote = needed_datasets()
    if remote:
        if not MIRROR.is_dir():
            pytest.skip(
                f"the open-data mirror {MIRROR} is absent (CI puts shared/ beside the clone)"
            )
        results = fetch(
            Catalogue([REPO / "datasets"]), public_datasets_dir(config), remote, mirror=MIRROR
        )
        assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    try:
        yield config
    finally:
        for course_id in CATALOGUE.courses:
            account = grader_account(config, course_id)
            subprocess.run(["pkill", "-KILL", "-u", account], check=False)
            subprocess.run(["userdel", account], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def grade_course(config, course_id: str) -> dict:
    """Generate, 'submit' the solution and the blank version, autograde every assignment."""
    course = CATALOGUE.courses[course_id]
    results = {}
    ensure_grader(config, course_id)
    run_step(
        config,
        course_id,
        "setup",
        files={"nbgrader_config.json": course_nbgrader_config(course)},
    )
    exercises = REPO / "exercises" / course_id
    for assignment in course.assignments:
        source = collect_files(exercises / assignment.folder, max_bytes=2**30)
        run_step(config, course_id, "put_source", stdin=tar_of(source), assignment=assignment.id)
    generated = run_step(
        config,
        course_id,
        "generate",
        assignments=[{"id": a.id, "due": None} for a in course.assignments],
    )
    for assignment in course.assignments:
        source = collect_files(exercises / assignment.folder, max_bytes=2**30)
        blank = files_from(generated[assignment.id]["files"])
        run_step(
            config,
            course_id,
            "collect",
            stdin=collect_archive({"solution": source, "blank": blank}),
            assignment=assignment.id,
        )
        # In grading sandboxes, with the course's graders mounted, as learners are graded.
        started = time.monotonic()
        ran = SandboxedAutograder(config).autograde(course, assignment, ["solution", "blank"])
        graded = {student: dataclasses.asdict(r) for student, r in ran.items()}
        results[assignment.id] = {
            "max_score": generated[assignment.id]["max_score"],
            "autograded_points": autograded_points(exercises / assignment.folder),
            "graded": graded,
            "seconds": time.monotonic() - started,
        }
    return results


@pytest.fixture(scope="module")
def grades(config):
    """Each course graded once, when its first case asks for it (so `-k <course>` grades one)."""
    done: dict[str, dict | Exception] = {}

    def of(course_id: str, assignment_id: str) -> dict:
        if course_id not in done:
            try:
                done[course_id] = grade_course(config, course_id)
            except Exception as exc:  # reported once per case, graded once per course
                done[course_id] = exc
        if isinstance(done[course_id], Exception):
            raise done[course_id]
        return done[course_id][assignment_id]

    return of


@pytest.mark.parametrize(("course_id", "assignment_id"), CASES)
def test_solution_gets_full_marks_and_blank_gets_zero(grades, course_id, assignment_id):
    result = grades(course_id, assignment_id)
    course = CATALOGUE.courses[course_id]
    assert result["max_score"] == course.assignment(assignment_id).points
    solution, blank = result["graded"]["solution"], result["graded"]["blank"]
    assert solution["ok"], json.dumps(solution, ensure_ascii=False)
    assert solution["score"] == result["autograded_points"] > 0
    assert blank["ok"] and blank["score"] == 0
