"""The exchange's storage: released assignments, every submission and released feedback.

Everything lives under `<state_dir>/exchange/<course>/` (root only, never in a sandbox):

    course.json                                  the synced course: titles, dates, late policy
    retired.json                                 present once its course file was removed
    released/<assignment>/...                    the learner version of an assignment
    submissions/<student>/<assignment>/<stamp>/  one folder per attempt, never overwritten,
        files/...  meta.json                     with its time and whether it was late
    feedback/<student>/<assignment>/<stamp>/     feedback HTML for that attempt
    solutions/<assignment>/...                   model solutions, only after the due date

Every path component that comes from a request is checked against a strict pattern first, and
new folders are written under a temporary name and renamed into place, so a reader never sees a
half-written submission and a refused one leaves nothing.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sunaba.core.archive import Archive, read_files, write_files
from sunaba.exchange.stamps import STAMP, stamp_of, time_of

COURSE_ID = re.compile(r"^[a-z][a-z0-9-]{1,22}$")
ASSIGNMENT_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
STUDENT_ID = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
RETIRED_FILE = "retired.json"


class StoreError(Exception):
    """A request names something that does not exist or is not allowed (Japanese message)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _check(pattern: re.Pattern, value: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise StoreError(f"{what}の指定が正しくありません: {value!r}")
    return value


def check_course(value: str) -> str:
    return _check(COURSE_ID, value, "コース")


def check_assignment(value: str) -> str:
    return _check(ASSIGNMENT_ID, value, "課題")


def check_student(value: str) -> str:
    return _check(STUDENT_ID, value, "受講者")


def check_stamp(value: str) -> str:
    return _check(STAMP, value, "提出")


@dataclass(frozen=True)
class Submission:
    course: str
    student: str
    assignment: str
    stamp: str
    late: bool
    size: int
    notebooks: list[str]

    @property
    def submitted_at(self) -> datetime:
        return time_of(self.stamp)

    def to_json(self) -> dict:
        data = asdict(self)
        data["submitted_at"] = self.submitted_at.isoformat()
        return data


AT_FDCWD = -100
RENAME_EXCHANGE = 2


def _swap(first: Path, second: Path) -> bool:
    """Exchange two existing paths in one step (Linux renameat2); False where the system or
    file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    done = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    return done == 0


def _replace_dir(tmp: Path, target: Path) -> None:
    """Put `tmp` at `target`, replacing an older folder there. Readers, and a process killed
    half-way, see either the old folder or the new one, never none."""
    if target.exists() and _swap(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # it now holds the old version
        return
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}-{id(tmp)}")
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class ExchangeStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    # -- courses -----------------------------------------------------------------------

    def course_dir(self, course: str) -> Path:
        return self.root / check_course(course)

    def write_course_info(self, course: str, info: dict) -> bool:
        """Store the synced description of a course (taking it out of retirement); True if
        anything changed."""
        folder = self.course_dir(course)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        reinstated = self.is_retired(course)
        (folder / RETIRED_FILE).unlink(missing_ok=True)
        path = folder / "course.json"
        text = json.dumps(info, ensure_ascii=False, indent=1, sort_keys=True)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return reinstated
        tmp = path.with_name(".course.json.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return True

    def is_retired(self, course: str) -> bool:
        return (self.course_dir(course) / RETIRED_FILE).is_file()

    def retire(self, course: str, when: datetime) -> bool:
        """Take a course out of every listing and request, keeping all it holds (released
        versions, submissions, feedback) for grading and export; True if it was active."""
        folder = self.course_dir(course)
        if not folder.is_dir() or self.is_retired(course):
            return False
        marker = folder / RETIRED_FILE
        tmp = marker.with_name(f".{RETIRED_FILE}.tmp")
        tmp.write_text(json.dumps({"retired_at": when.isoformat()}), encoding="utf-8")
        tmp.replace(marker)
        return True

    def course_info(self, course: str) -> dict | None:
        path = self.course_dir(course) / "course.json"
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def courses(self, *, retired: bool = False) -> list[str]:
        """Active courses (with `retired`, the retired ones instead)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if COURSE_ID.match(p.name) and p.is_dir() and (p / RETIRED_FILE).is_file() == retired
        )

    # -- released assignments --------------------------------------------------------------

    def released_dir(self, course: str, assignment: str) -> Path:
        return self.course_dir(course) / "released" / check_assignment(assignment)

    def release(self, course: str, assignment: str, files: dict[str, bytes]) -> bool:
        """Make `files` the released version of the assignment; True if anything changed."""
        target = self.released_dir(course, assignment)
        if target.is_dir() and read_files(target) == files:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        write_files(files, tmp)
        _replace_dir(tmp, target)
        return True

    def unrelease(self, course: str, assignment: str) -> bool:
        target = self.released_dir(course, assignment)
        if not target.exists():
            return False
        shutil.rmtree(target)
        return True

    def released(self, course: str) -> list[str]:
        folder = self.course_dir(course) / "released"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if ASSIGNMENT_ID.match(p.name))

    def released_files(self, course: str, assignment: str) -> dict[str, bytes]:
        target = self.released_dir(course, assignment)
        if not target.is_dir():
            raise StoreError("この課題はまだ配布されていません", status=404)
        return read_files(target)

    # -- submissions ---------------------------------------------------------------------

    def _submissions_dir(self, course: str, student: str, assignment: str) -> Path:
        return (
            self.course_dir(course)
            / "submissions"
            / check_student(student)
            / check_assignment(assignment)
        )

    def add_submission(
        self,
        course: str,
        student: str,
        assignment: str,
        archive: Archive,
        *,
        now: datetime,
        late: bool,
    ) -> Submission:
        """Keep a checked submission as a new attempt (earlier ones stay)."""
        folder = self._submissions_dir(course, student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        moment = now
        while (folder / stamp_of(moment)).exists():
            moment += timedelta(microseconds=1)
        stamp = stamp_of(moment)
        submission = Submission(
            course=course,
            student=student,
            assignment=assignment,
            stamp=stamp,
            late=late,
            size=archive.size,
            notebooks=archive.notebooks,
        )
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
        try:
            write_files(archive.files, tmp / "files")
            (tmp / "meta.json").write_text(
                json.dumps(submission.to_json(), ensure_ascii=False), encoding="utf-8"
            )
            tmp.rename(folder / stamp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return submission

    def remove_unfinished_submissions(self) -> list[Path]:
        """Attempts a killed service left half-written (`.tmp-*` beside the attempts): no
        reader ever saw one, and its sender was told to submit again. Only the service writes
        submissions, so it calls this when it starts, before it takes requests."""
        found = sorted(self.root.glob("*/submissions/*/*/.tmp-*"))
        for folder in found:
            shutil.rmtree(folder, ignore_errors=True)
        return found

    def _read_submission(self, folder: Path) -> Submission | None:
        meta = folder / "meta.json"
        if not STAMP.match(folder.name) or not meta.is_file():
            return None
        data = json.loads(meta.read_text(encoding="utf-8"))
        data.pop("submitted_at", None)
        return Submission(**data)

    def submissions(
        self, course: str, student: str | None = None, assignment: str | None = None
    ) -> list[Submission]:
        """Attempts, oldest first, filtered by student and assignment."""
        base = self.course_dir(course) / "submissions"
        students = [check_student(student)] if student else _names(base, STUDENT_ID)
        found: list[Submission] = []
        for name in students:
            assignments = (
                [check_assignment(assignment)] if assignment else _names(base / name, ASSIGNMENT_ID)
            )
            for assignment_id in assignments:
                folder = base / name / assignment_id
                for attempt in _names(folder, STAMP):
                    submission = self._read_submission(folder / attempt)
                    if submission is not None:
                        found.append(submission)
        return sorted(found, key=lambda s: (s.student, s.assignment, s.stamp))

    def latest_submissions(self, course: str, assignment: str) -> dict[str, Submission]:
        latest: dict[str, Submission] = {}
        for submission in self.submissions(course, assignment=assignment):
            latest[submission.student] = submission  # sorted: the last one wins
        return latest

    def latest_files(self, course: str, assignment: str) -> dict[str, bytes]:
        """The latest attempt of every learner, as `<student>/<stamp>/<name>` (for collect)."""
        files: dict[str, bytes] = {}
        for student, submission in self.latest_submissions(course, assignment).items():
            for name, data in self.submission_files(submission).items():
                files[f"{student}/{submission.stamp}/{name}"] = data
        return files

    def submission_files(self, submission: Submission) -> dict[str, bytes]:
        folder = self._submissions_dir(submission.course, submission.student, submission.assignment)
        return read_files(folder / check_stamp(submission.stamp) / "files")

    # -- feedback ------------------------------------------------------------------------

    def _feedback_dir(self, course: str, student: str, assignment: str) -> Path:
        return (
            self.course_dir(course)
            / "feedback"
            / check_student(student)
            / check_assignment(assignment)
        )

    def put_feedback(
        self, course: str, student: str, assignment: str, stamp: str, files: dict[str, bytes]
    ) -> bool:
        """Release feedback for one attempt; True if it changed."""
        known = {s.stamp for s in self.submissions(course, student, assignment)}
        if check_stamp(stamp) not in known:
            raise StoreError("この提出は見つかりません", status=404)
        target = self._feedback_dir(course, student, assignment) / stamp
        if target.is_dir() and read_files(target) == files:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        write_files(files, tmp)
        _replace_dir(tmp, target)
        return True

    def feedback_stamps(self, course: str, student: str, assignment: str) -> list[str]:
        return _names(self._feedback_dir(course, student, assignment), STAMP)

    def feedback_files(self, course: str, student: str, assignment: str, stamp: str) -> dict:
        folder = self._feedback_dir(course, student, assignment) / check_stamp(stamp)
        if not folder.is_dir():
            raise StoreError("この提出の講評はまだ返却されていません", status=404)
        return read_files(folder)

    # -- model solutions -----------------------------------------------------------------

    def _solutions_dir(self, course: str, assignment: str) -> Path:
        return self.course_dir(course) / "solutions" / check_assignment(assignment)

    def put_solutions(
        self,
        course: str,
        assignment: str,
        files: dict[str, bytes],
        *,
        due: datetime | None,
        now: datetime,
    ) -> bool:
        """Keep the model solutions of an assignment; refused before its due date (and for an
        assignment without one). True if anything changed."""
        if due is None or now < due:
            raise StoreError("締切前の課題の解答例は公開できません", status=403)
        target = self._solutions_dir(course, assignment)
        if target.is_dir() and read_files(target) == files:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        write_files(files, tmp)
        _replace_dir(tmp, target)
        return True

    def has_solutions(self, course: str, assignment: str) -> bool:
        return self._solutions_dir(course, assignment).is_dir()

    def solution_files(self, course: str, assignment: str) -> dict[str, bytes]:
        folder = self._solutions_dir(course, assignment)
        if not folder.is_dir():
            raise StoreError("この課題の解答例はまだ公開されていません", status=404)
        return read_files(folder)


def _names(folder: Path, pattern: re.Pattern) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if pattern.fullmatch(p.name) and p.is_dir())
