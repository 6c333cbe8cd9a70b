"""Grading helpers shared by the autograde tests and the grading benchmark: collecting
notebooks into a course, and stock `nbgrader autograde` on a copy of the course directory,
for comparison."""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sunaba.courses.layout import grader_account
from sunaba.exchange.archive import pack
from sunaba.grading.runner import become, run_step, worker_python


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
