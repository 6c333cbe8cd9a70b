"""nbgrader steps run as a course's grader account, in its course directory.

`sunaba.grading.runner` starts `python -m sunaba_portable.grading.worker '<json request>'` with the
grader's uid and the course directory as working directory. The worker pays nbgrader's import
cost once, runs one step for any number of students with nbgrader's converters in-process,
reads files to write from stdin (a tar) and prints one JSON line with the results (files it
hands back are base64 tars inside it). Logs go to stderr.

Every read and write inside the course directory happens here, as the grader: the root side
never follows a path the grader account could have turned into a symlink.

Only nbgrader and the standard library are imported: grader accounts run this outside the hub.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import sys
import traceback
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import JSONFileConfigLoader

from ..core.archive import collect_files, pack, unpack, write_files

CONFIG_FILE = "nbgrader_config.json"
MAX_BYTES = 2**33
PROGRESS_MARK = "sunaba-progress "  # a stdout line starting so tells the runner of one item
log = logging.getLogger("sunaba.grading")


def report_done(item: str, **details) -> None:
    """Tell the runner that one item of the step is done (it keeps such lines out of the result)."""
    sys.stdout.write(PROGRESS_MARK + json.dumps({"item": item, **details}) + "\n")
    sys.stdout.flush()


def load_config(root: Path, late_policy: str = "accept") -> Config:
    config = Config()
    if (root / CONFIG_FILE).is_file():
        config.merge(JSONFileConfigLoader(CONFIG_FILE, path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    config.LateSubmissionPlugin.penalty_method = "zero" if late_policy == "zero" else "none"
    return config


def _coursedir(config: Config, assignment: str, student: str = ""):
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    if student:
        coursedir.student_id = student
    return coursedir


def _b64(files: dict[str, bytes]) -> str:
    return base64.b64encode(pack(files)).decode("ascii")


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------------------------
# Steps


def setup(root: Path, request: dict, stdin: bytes) -> dict:
    """Write the course's config files (nbgrader and the formgrader's Jupyter server)."""
    for relative, data in request["files"].items():
        _write_json(root / relative, data)
    for folder in ("source", "release", "submitted", "autograded", "feedback"):
        (root / folder).mkdir(exist_ok=True)
    return {}


def put_source(root: Path, request: dict, stdin: bytes) -> dict:
    """Replace source/<assignment> by the files sent; True if anything changed."""
    files = unpack(stdin, max_bytes=MAX_BYTES, check_notebooks=False).files
    target = root / "source" / request["assignment"]
    if target.is_dir() and not target.is_symlink():
        if collect_files(target, max_bytes=MAX_BYTES) == files:
            return {"changed": False}
        shutil.rmtree(target)
    elif target.is_symlink():
        target.unlink()
    target.mkdir(parents=True)
    write_files(files, target)
    return {"changed": True}


def generate(root: Path, request: dict, stdin: bytes) -> dict:
    """Source → release version of each assignment, with its due date in the gradebook.
    Returns, per assignment, the release files and the points its notebooks add up to."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import GenerateAssignment
    from nbgrader.utils import parse_utc

    config = load_config(root)
    results = {}
    for item in request["assignments"]:
        assignment = item["id"]
        coursedir = _coursedir(config, assignment)
        due = parse_utc(item["due"]) if item.get("due") else None
        with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
            gradebook.update_or_create_assignment(assignment, duedate=due)
        converter = GenerateAssignment(coursedir=coursedir, config=config)
        converter.force = True
        converter.create_assignment = True
        converter.start()
        with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
            max_score = gradebook.find_assignment(assignment).max_score
        release = root / "release" / assignment
        results[assignment] = {
            "max_score": max_score,
            "files": _b64(collect_files(release, max_bytes=MAX_BYTES)),
        }
    return results


def collect(root: Path, request: dict, stdin: bytes) -> dict:
    """Write a collect archive (`<student>/<stamp>/<files>`) into submitted/."""
    from ..exchange.plugin_staff import write_collected

    config = load_config(root)
    assignment = request["assignment"]
    files = unpack(stdin, max_bytes=MAX_BYTES, max_files=10**6).files
    written = write_collected(
        _coursedir(config, assignment),
        assignment,
        files,
        request.get("update", True),
        log,
        on_student=lambda student, wrote: report_done(student, written=wrote),
    )
    return {"written": written}


def _score(gradebook, assignment: str, student: str) -> dict:
    from nbgrader.api import MissingEntry

    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return {"score": None, "max_score": None, "late": False, "needs_manual_grade": False}
    return {
        "score": submission.score,
        "max_score": submission.max_score,
        "late": bool(submission.total_seconds_late and submission.total_seconds_late > 0),
        "needs_manual_grade": bool(submission.needs_manual_grade),
        "questions": _questions(gradebook, assignment, submission),
    }


CHECK_CALL = re.compile(r"""assert_check\(\s*["']([A-Za-z0-9_.-]{1,60})["']""")


def _questions(gradebook, assignment: str, submission) -> list[dict]:
    """Every graded cell of the submission, in notebook order: its score and, for autograded
    test cells, the instant-check question its hidden tests call (from the source cell)."""
    found = []
    for notebook in sorted(submission.notebooks, key=lambda n: n.name):
        sources = {}
        for cell in gradebook.find_notebook(notebook.name, assignment).source_cells:
            sources[cell.name] = cell.source or ""
        for grade in notebook.grades:
            match = CHECK_CALL.search(sources.get(grade.name, ""))
            found.append(
                {
                    "notebook": notebook.name,
                    "cell": grade.name,
                    "question": match.group(1) if match else grade.name,
                    "manual": grade.cell_type == "markdown",
                    "score": grade.score,
                    "max_score": grade.max_score,
                    "needs_manual_grade": bool(grade.needs_manual_grade),
                }
            )
    return found


def _each_student(converter_class, config: Config, assignment: str, students, **flags) -> dict:
    results = {}
    for student in students:
        converter = converter_class(
            coursedir=_coursedir(config, assignment, student), config=config
        )
        for name, value in flags.items():
            setattr(converter, name, value)
        try:
            converter.start()
            results[student] = {"ok": True}
        except Exception as exc:
            log.error(traceback.format_exc())
            results[student] = {"ok": False, "error": str(exc) or type(exc).__name__}
    return results


def submitted_students(root: Path, assignment: str) -> list[str]:
    base = root / "submitted"
    return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())


def _changed_cells(release: Path, submitted: Path) -> dict:
    """Locked cells (tests included) a learner changed or removed: {grade_id: "changed" or
    "removed"}, compared with the released notebook the learner fetched (the gradebook's
    checksums are of the source, hidden tests included). Autograde restores them either way."""
    import nbformat
    from nbgrader import utils

    def locked_cells(path: Path) -> dict:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        cells = {}
        for cell in notebook.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade_id") and (meta.get("locked") or meta.get("grade")):
                cells[meta["grade_id"]] = cell
        return cells

    released, handed_in = locked_cells(release), locked_cells(submitted)
    changed = {}
    for grade_id, cell in released.items():
        if not cell.get("metadata", {}).get("nbgrader", {}).get("locked"):
            continue
        mine = handed_in.get(grade_id)
        if mine is None:
            changed[grade_id] = "removed"
        elif utils.compute_checksum(mine) != utils.compute_checksum(cell):
            changed[grade_id] = "changed"
    return changed


def submitted(root: Path, request: dict, stdin: bytes) -> list[str]:
    return submitted_students(root, request["assignment"])


def autograde_prepare(root: Path, request: dict, stdin: bytes) -> dict:
    """nbgrader's autograde up to, not including, running the code: each submission is
    copied to autograded/ with test cells restored from the source. Returns, per student,
    those files (to run in a sandbox) and which locked cells were changed or removed."""
    from nbgrader.converters import Autograde

    config = load_config(root, request.get("late_policy", "accept"))
    config.Autograde.autograde_preprocessors = []
    assignment = request["assignment"]
    students = request.get("students") or submitted_students(root, assignment)
    results = _each_student(
        Autograde, config, assignment, students, force=True, create_student=True
    )
    for student, result in results.items():
        if not result["ok"]:
            continue
        directory = root / "autograded" / student / assignment
        submitted = root / "submitted" / student / assignment
        notebooks = sorted(p.name for p in directory.glob("*.ipynb"))
        result["notebooks"] = notebooks
        result["files"] = _b64(collect_files(directory, max_bytes=MAX_BYTES))
        result["changed"] = _changed_in(root / "release" / assignment, submitted, notebooks)
    return results


def _changed_in(release: Path, submitted: Path, notebooks: list[str]) -> dict:
    """{notebook: {grade_id: "changed" | "removed"}} for one submission."""
    changed = {}
    for name in notebooks:
        try:
            changed[name] = _changed_cells(release / name, submitted / name)
        except Exception:  # missing or unreadable: nbgrader's own step reports it
            log.warning("cannot compare %s with the released notebook", submitted / name)
    return changed


def autograde_finish(root: Path, request: dict, stdin: bytes) -> dict:
    """nbgrader's autograde with the sandbox's results in place of running the code."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, SaveAutoGrades

    from .replay import FlagTampering, ReplayExecution, load_changed_cells, load_results

    files = unpack(stdin, max_bytes=MAX_BYTES, max_files=10**6, check_notebooks=False).files
    load_results(files)
    config = load_config(root, request.get("late_policy", "accept"))
    steps = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        steps.append(ReplayExecution if step is Execute else step)
        if step is SaveAutoGrades:
            steps.append(FlagTampering)
    config.Autograde.autograde_preprocessors = steps
    assignment = request["assignment"]
    students = request["students"]
    # What autograde_prepare found, so that restored cells can say so in the feedback.
    load_changed_cells(
        {
            f"{student}/{name}": cells
            for student, notebooks in request.get("changed", {}).items()
            for name, cells in notebooks.items()
        }
    )
    results = _each_student(
        Autograde, config, assignment, students, force=True, create_student=True
    )
    coursedir = _coursedir(config, assignment)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for student, result in results.items():
            result.update(_score(gradebook, assignment, student))
    return results


def feedback(root: Path, request: dict, stdin: bytes) -> dict:
    """Generate feedback (HTML, hidden tests removed) from the autograded notebooks; with each
    student's score as it is now (manual grades included)."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import GenerateFeedback

    config = load_config(root)
    assignment = request["assignment"]
    students = request.get("students") or sorted(
        p.parent.name for p in (root / "autograded").glob(f"*/{assignment}") if p.is_dir()
    )
    results = _each_student(GenerateFeedback, config, assignment, students, force=True)
    coursedir = _coursedir(config, assignment)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for student, result in results.items():
            result.update(_score(gradebook, assignment, student))
    return results


def feedback_files(root: Path, request: dict, stdin: bytes) -> dict:
    """Generated feedback, per student: the files and the attempt they belong to."""
    from ..exchange.plugin_staff import feedback_to_release

    config = load_config(root)
    coursedir = _coursedir(config, request["assignment"])
    wanted = set(request.get("students") or [])
    return {
        student: {"stamp": stamp, "files": _b64(files)}
        for student, stamp, files in feedback_to_release(coursedir, request["assignment"])
        if not wanted or student in wanted
    }


def scores(root: Path, request: dict, stdin: bytes) -> dict:
    """Every student's score per assignment, from the gradebook."""
    from nbgrader.api import Gradebook

    config = load_config(root)
    coursedir = _coursedir(config, "")
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        students = sorted(s.id for s in gradebook.students)
        return {
            assignment: {s: _score(gradebook, assignment, s) for s in students}
            for assignment in request["assignments"]
        }


STEPS = {
    "setup": setup,
    "put_source": put_source,
    "generate": generate,
    "collect": collect,
    "submitted": submitted,
    "autograde_prepare": autograde_prepare,
    "autograde_finish": autograde_finish,
    "feedback": feedback,
    "feedback_files": feedback_files,
    "scores": scores,
}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    request = json.loads(argv[0])
    stdin = sys.stdin.buffer.read() if request.get("stdin") else b""
    try:
        result = {"ok": True, "result": STEPS[request["step"]](Path.cwd(), request, stdin)}
    except Exception as exc:
        traceback.print_exc()
        result = {"ok": False, "error": str(exc) or type(exc).__name__}
    sys.stdout.write("\n" + json.dumps(result, ensure_ascii=False) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
