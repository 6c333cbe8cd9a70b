"""Benchmark: grading the model solution of every assignment of every course in courses/,
through Sunaba's grading sandbox, side by side with stock `nbgrader autograde` on the same
notebooks.

Run with `python benchmarks/bench_courses.py [course ...]` as root. Each course is generated
and its source notebooks (the model solutions) are collected as one learner's submission in a
scratch course directory (a real grader account, no hub), as tests/integration/courses/
test_course_content.py does. The courses' real datasets are fetched into the prefix's public
tree through the local mirror (../shared/opendata), where sandboxes read them.

Sunaba: `SandboxedAutograder` (the grader account prepares and scores, the notebook runs in a
sandbox with no network and the datasets read-only). Stock: `nbgrader autograde` in a copy of
the course directory, as the grader account, with the same environment the sandbox gives
(datasets path, graders for `assert_check`). Waits are bounded: each cell by the course's cell
time limit, each stock run by STOCK_TIMEOUT. Printed: per assignment, the points the solution
got on each side and the wall time of each, and the ratio. No assertion: figures for reading.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.courses import tar_of  # noqa: E402
from tests.support.grading import gradebook_scores, stock_course_copy  # noqa: E402

from sunaba.config.loader import validate  # noqa: E402
from sunaba.core.archive import collect_files  # noqa: E402
from sunaba.core.layout import CoursePaths, grader_account  # noqa: E402
from sunaba.core.state import public_datasets_dir  # noqa: E402
from sunaba.courses.accounts import ensure_grader  # noqa: E402
from sunaba.courses.course_settings import course_nbgrader_config  # noqa: E402
from sunaba.courses.model import load_catalogue  # noqa: E402
from sunaba.datasets.catalogue import Catalogue  # noqa: E402
from sunaba.datasets.fetch import fetch  # noqa: E402
from sunaba.grading.cycle import SandboxedAutograder  # noqa: E402
from sunaba.grading.runner import become, run_step, worker_python  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "opendata"
PREFIX = Path(os.environ.get("SUNABA_TEST_PREFIX", "/opt/sunaba"))
STOCK_TIMEOUT = 600
STUDENT = "solution"
STAMP = "20250401T000000.000000Z"


def site_config(root: Path):
    return validate(
        {
            "hub": {"state_dir": str(root / "state"), "prefix": str(PREFIX)},
            "sandbox": {"user_prefix": f"sbb{secrets.token_hex(2)}-"},
            "courses": {"directory": str(REPO / "courses"), "exercises": str(REPO / "exercises")},
        },
        "course benchmark",
    )


def fetch_datasets(config, catalogue) -> list[str]:
    """The courses' remote datasets into the public tree; returns those still missing."""
    names = sorted({n for course in catalogue.courses.values() for n in course.datasets})
    datasets = Catalogue([REPO / "datasets"])
    remote = [n for n in names if any(r.remote for r in datasets.get(n).resources)]
    if not remote:
        return []
    if not MIRROR.is_dir():
        return remote
    results = fetch(datasets, public_datasets_dir(config), remote, mirror=MIRROR)
    return sorted({r.dataset for r in results if not r.ok})


def prepare(config, course) -> None:
    """Grader account, nbgrader config, sources, generated versions, the solutions collected."""
    ensure_grader(config, course.id)
    nbgrader = {"nbgrader_config.json": course_nbgrader_config(course)}
    run_step(config, course.id, "setup", files=nbgrader)
    exercises = REPO / "exercises" / course.id
    for assignment in course.assignments:
        source = tar_of(collect_files(exercises / assignment.folder, max_bytes=2**30))
        run_step(config, course.id, "put_source", stdin=source, assignment=assignment.id)
    wanted = [{"id": a.id, "due": None} for a in course.assignments]
    run_step(config, course.id, "generate", assignments=wanted)
    for assignment in course.assignments:
        source = collect_files(exercises / assignment.folder, max_bytes=2**30)
        files = {f"{STUDENT}/{STAMP}/{name}": data for name, data in source.items()}
        run_step(config, course.id, "collect", stdin=tar_of(files), assignment=assignment.id)


def autograded_points(folder: Path) -> float:
    """Points of the test cells (graded, not a written answer) in the source notebooks."""
    import nbformat

    total = 0.0
    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                total += float(meta.get("points", 0))
    return total


def sunaba_grade(config, course, assignment) -> tuple[float | None, float, str]:
    started = time.perf_counter()
    autograder = SandboxedAutograder(config)
    try:
        result = autograder.autograde(course, assignment, [STUDENT])[STUDENT]
    except Exception as exc:  # reported in the table; the other assignments still run
        return None, time.perf_counter() - started, f"Sunaba failed: {exc}".replace("\n", " ")
    wall = time.perf_counter() - started
    phases = ", ".join(f"{k} {v:.1f}" for k, v in autograder.seconds.items())
    return result.score, wall, result.error or f"Sunaba phases: {phases}"


def stock_grade(config, course, assignment, scratch: Path) -> tuple[float | None, float, str]:
    root = CoursePaths.of(config, course.id).root
    copy = stock_course_copy(
        config,
        course.id,
        root,
        scratch / f"{course.id}-{assignment.id}",
        students=[STUDENT],
        cell_timeout=config.grading.cell_timeout,
    )
    python = worker_python(config)
    env = {
        "PATH": f"{Path(python).parent}:/usr/bin:/bin",
        "HOME": str(copy),
        "LANG": "C.UTF-8",
        "SUNABA_DATASETS_PATH": str(public_datasets_dir(config)),
        "SUNABA_GRADERS_DIR": str(REPO / "graders"),
        "SUNABA_CHECK_COURSE": course.id,
        "SUNABA_CHECK_ASSIGNMENT": assignment.id,
    }
    command = [
        python, "-m", "nbgrader", "autograde", assignment.id, "--force", "--create",
        f"--CourseDirectory.root={copy}",
        f"--CourseDirectory.db_url=sqlite:///{copy / 'gradebook.db'}",
        "--KernelManager.transport=ipc",  # the grader account may not use loopback TCP
    ]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=copy,
            preexec_fn=become(pwd.getpwnam(grader_account(config, course.id))),
            capture_output=True,
            text=True,
            timeout=STOCK_TIMEOUT,
            env=env,
        )
        lines = done.stderr.strip().splitlines()
        error = "" if done.returncode == 0 else (lines[-1] if lines else f"exit {done.returncode}")
    except subprocess.TimeoutExpired:
        error = f"timed out after {STOCK_TIMEOUT} s"
    seconds = time.perf_counter() - started
    score = gradebook_scores(config, copy, assignment.id, [STUDENT])[STUDENT]
    return score, seconds, error


def row(course, assignment, ours, theirs) -> tuple[str, float, float]:
    (s_score, s_wall, s_err), (t_score, t_wall, t_err) = ours, theirs
    ratio = s_wall / t_wall if t_wall else float("nan")

    def shown(score):
        return "—" if score is None else f"{score:g}"

    auto = autograded_points(REPO / "exercises" / course.id / assignment.folder)
    note = "; ".join(x for x in (s_err, t_err and f"stock: {t_err}") if x)
    print(
        f"| {course.id}/{assignment.id} | {auto:g} / {assignment.points or 0:g} | {shown(s_score)} | "
        f"{shown(t_score)} | {s_wall:.1f} | {t_wall:.1f} | {ratio:.2f} | {note} |",
        flush=True,
    )
    return f"{course.id}/{assignment.id}", s_wall, t_wall


def main(selected: list[str]) -> int:
    catalogue = load_catalogue(REPO / "courses")
    courses = [c for cid, c in sorted(catalogue.courses.items()) if not selected or cid in selected]
    if catalogue.problems:
        print(f"course files with problems (left out): {sorted(catalogue.problems)}")
    root = Path(tempfile.mkdtemp(prefix="sunaba-bench-courses-"))
    root.chmod(0o711)
    config = site_config(root)
    try:
        missing = fetch_datasets(config, catalogue)
        if missing:
            print(f"datasets not available (mirror {MIRROR}): {', '.join(missing)}")
        count = sum(len(c.assignments) for c in courses)
        print(f"model solutions of {count} assignments in {len(courses)} courses, "
              f"{os.cpu_count()} cores, cell limit {config.grading.cell_timeout} s")  # fmt: skip
        print(
            "| assignment | autograded / all points | Sunaba score | stock score | Sunaba s | stock s | ratio | notes |"
        )
        print("|---|---|---|---|---|---|---|---|")
        totals = []
        for course in courses:
            prepare(config, course)
            for assignment in course.assignments:
                ours = sunaba_grade(config, course, assignment)
                theirs = stock_grade(config, course, assignment, root / "stock")
                totals.append(row(course, assignment, ours, theirs))
        ours_total = sum(t[1] for t in totals)
        theirs_total = sum(t[2] for t in totals)
        print(f"total: Sunaba {ours_total:.1f} s, stock {theirs_total:.1f} s, "
              f"ratio Sunaba/stock {ours_total / max(theirs_total, 1e-9):.2f}")  # fmt: skip
    finally:
        for course in courses:
            subprocess.run(["userdel", grader_account(config, course.id)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
