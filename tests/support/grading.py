"""Grading helpers shared by the autograde tests and the grading benchmark: a scratch course
with a real grader account, collecting notebooks into a course, and stock `nbgrader autograde`
on a copy of the course directory, for comparison."""

from __future__ import annotations

import contextlib
import json
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import yaml

from sunaba.config.loader import validate
from sunaba.core.archive import collect_files, pack
from sunaba.core.layout import grader_account
from sunaba.courses.accounts import ensure_grader
from sunaba.courses.course_settings import course_nbgrader_config
from sunaba.courses.model import load_course_file
from sunaba.grading.runner import become, files_from, run_step, worker_python
from tests.support.courses import tar_of
from tests.support.hub import PREFIX


def nbgrader_meta(grade_id, *, grade=False, solution=False, locked=False, points=0) -> dict:
    """A cell's nbgrader metadata, so that the tests' source notebooks need not spell it out."""
    data = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked}
    if grade:
        data["points"] = points
    return {"nbgrader": {**data, "schema_version": 3}}


@contextlib.contextmanager
def scratch_course(
    name: str, course: str, assignment: str, *, title: str, source, grader: str | None = None
) -> Iterator[tuple[Path, object]]:
    """(root, config) of a throwaway course, so attack tests can autograde as learners are."""
    tag = secrets.token_hex(2)
    root = Path(tempfile.mkdtemp(prefix=f"sunaba-test-{name}-"))
    root.chmod(0o755)  # the grader account reaches its course directory below
    (root / "courses" / course).mkdir(parents=True)
    (root / "courses" / course / "course.yaml").write_text(
        yaml.safe_dump(
            {
                "id": course,
                "title": {"ja": title},
                "instructors": ["teach"],
                "assignments": [
                    {"id": assignment, "title": {"ja": "宿題"}, "source": assignment, "points": 3}
                ],
            },
            allow_unicode=True,
        )
    )
    folder = root / "exercises" / course / assignment
    folder.mkdir(parents=True)
    nbformat.write(source, str(folder / f"{assignment}.ipynb"))
    if grader is not None:
        (root / "graders" / course).mkdir(parents=True)
        (root / "graders" / course / f"{assignment}.py").write_text(grader)
    config = validate(
        {
            "hub": {"state_dir": str(root / "state"), "prefix": str(PREFIX)},
            "sandbox": {"user_prefix": f"sbt{tag}-"},
            "courses": {
                "directory": str(root / "courses"),
                "exercises": str(root / "exercises"),
            },
            "checks": {"graders": str(root / "graders")},
            "grading": {"cell_timeout": 20},
        },
        f"{name} test",
    )
    try:
        yield root, config
    finally:
        subprocess.run(["userdel", grader_account(config, course)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def prepare_scratch_course(
    root: Path, config, course_id: str, assignment: str, submissions: Callable
) -> tuple:
    """Release a `scratch_course` and collect `submissions(release)`, ready to autograde."""
    course = load_course_file(root / "courses" / course_id / "course.yaml")
    ensure_grader(config, course_id)
    run_step(
        config, course_id, "setup", files={"nbgrader_config.json": course_nbgrader_config(course)}
    )
    source = collect_files(root / "exercises" / course_id / assignment, max_bytes=2**30)
    run_step(config, course_id, "put_source", stdin=tar_of(source), assignment=assignment)
    generated = run_step(
        config, course_id, "generate", assignments=[{"id": assignment, "due": None}]
    )
    notebook = files_from(generated[assignment]["files"])[f"{assignment}.ipynb"]
    release = nbformat.reads(notebook.decode("utf-8"), as_version=4)
    archive = tar_of(
        {
            f"{student}/20250401T000000.000000Z/{assignment}.ipynb": data
            for student, data in submissions(release).items()
        }
    )
    run_step(config, course_id, "collect", stdin=archive, assignment=assignment)
    return course, course.assignment(assignment)


def collect_notebooks(config, course: str, assignment: str, name: str, notebooks: dict) -> None:
    """Put {student: notebook bytes} into submitted/, as one collect of `name` files."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    files = {f"{student}/{stamp}/{name}": data for student, data in notebooks.items()}
    run_step(config, course, "collect", stdin=pack(files), assignment=assignment)


def stock_course_copy(
    config, course: str, source: Path, dest: Path, *, students=None, cell_timeout=None
) -> Path:
    """A copy of the course directory as stock nbgrader would have it (its own Execute, not
    the course's sandboxed one), owned by the grader account, holding only `students`."""
    shutil.copytree(source, dest, symlinks=True)
    for folder in ("autograded", "feedback"):
        shutil.rmtree(dest / folder, ignore_errors=True)
    settings = json.loads((dest / "nbgrader_config.json").read_text())
    settings.pop("Autograde", None)
    if cell_timeout is not None:
        settings.setdefault("Execute", {})["timeout"] = cell_timeout
    (dest / "nbgrader_config.json").write_text(json.dumps(settings))
    if students is not None:
        for student_dir in (dest / "submitted").iterdir():
            if student_dir.name not in students:
                shutil.rmtree(student_dir)
    account = pwd.getpwnam(grader_account(config, course))
    subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(dest)], check=True)
    return dest


def stock_autograde(
    config, course: str, assignment: str, copy: Path, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`nbgrader autograde` in `copy`, as the grader account. Not checked: nbgrader exits 1
    when any submission could not be autograded (a dead kernel)."""
    python = worker_python(config)
    return subprocess.run(
        [
            python, "-m", "nbgrader", "autograde", assignment, "--force", "--create",
            f"--CourseDirectory.root={copy}",
            f"--CourseDirectory.db_url=sqlite:///{copy / 'gradebook.db'}",
        ],
        cwd=copy, preexec_fn=become(pwd.getpwnam(grader_account(config, course))),
        capture_output=True, text=True, timeout=3600,
        env={
            "PATH": f"{Path(python).parent}:/usr/bin:/bin", "HOME": str(copy),
            "LANG": "C.UTF-8", **(env or {}),
        },
    )  # fmt: skip


def stock_scores(
    config, course: str, assignment: str, course_root: Path, students, env: dict | None = None
) -> tuple[dict, str]:
    """Stock nbgrader's scores and stderr tail: the baseline the sandboxed autograder matches."""
    scratch = Path(tempfile.mkdtemp(prefix="sunaba-test-stock-"))
    try:
        scratch.chmod(0o711)
        copy = stock_course_copy(config, course, course_root, scratch / "c", students=set(students))
        completed = stock_autograde(config, course, assignment, copy, env=env)
        return gradebook_scores(config, copy, assignment, students), completed.stderr[-3000:]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def gradebook_scores(config, copy: Path, assignment: str, students) -> dict:
    """{student: score} from the copy's gradebook; None for a submission it has no score of."""
    script = (
        "import json\nfrom nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///{copy / 'gradebook.db'}') as gb:\n"
        "    scores = {}\n"
        f"    for s in {sorted(students)!r}:\n"
        "        try:\n"
        f"            scores[s] = gb.find_submission('{assignment}', s).score\n"
        "        except Exception:\n"
        "            scores[s] = None\n"
        "    print(json.dumps(scores))\n"
    )
    out = subprocess.run(
        [worker_python(config), "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)
