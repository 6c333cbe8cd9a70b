"""nbgrader exchange plugin, the instructor's steps (release, collect, release feedback from a
formgrader); the learner's steps and the shared base are in `plugin.py`. Like it, this runs in
sandboxes: only nbgrader, the standard library and sibling modules (relative imports).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nbgrader.exchange import abc

from ..core.archive import collect_files, pack, unpack, write_files
from .plugin import SunabaExchange
from .stamps import nbgrader_time, stamp_from_nbgrader_time


class StaffStep(SunabaExchange):
    """An instructor's step on one assignment of one course. The service holds the exchange's
    side, so there is nothing to prepare locally before `copy_files`."""

    def init_src(self):
        self.course = self.course_id()
        self.assignment = self.coursedir.assignment_id

    def init_dest(self):
        pass


class ReleaseAssignment(StaffStep, abc.ExchangeReleaseAssignment):
    def init_src(self):
        super().init_src()
        self.src = Path(
            self.coursedir.format_path(self.coursedir.release_directory, ".", self.assignment)
        )
        if not self.src.is_dir():
            self.fail(f"配布用のフォルダ {self.src} がありません。先に課題を生成してください")

    def copy_files(self):
        files = collect_files(self.src, max_bytes=self.max_upload_bytes)
        self.call(
            self.call(self.client).send,
            "PUT",
            f"api/courses/{self.course}/assignments/{self.assignment}/release",
            pack(files),
        )
        self.log.info("配布しました: %s/%s", self.course, self.assignment)


def write_collected(
    coursedir, assignment: str, files: dict[str, bytes], update: bool, log, on_student=None
):
    """Write a collect archive (`<student>/<stamp>/<files>`) into submitted/, each with the
    timestamp.txt nbgrader reads; `on_student(student, written)` hears of each one in turn.
    Returns the students written."""
    by_student: dict[tuple[str, str], dict[str, bytes]] = {}
    for name, data in files.items():
        student, stamp, rest = name.split("/", 2)
        by_student.setdefault((student, stamp), {})[rest] = data
    written = []
    for (student, stamp), student_files in sorted(by_student.items()):
        dest = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        timestamp = nbgrader_time(stamp)
        stamp_file = dest / "timestamp.txt"
        if dest.exists():
            same = stamp_file.is_file() and stamp_file.read_text().strip() == timestamp
            if same or not update:
                if on_student:
                    on_student(student, False)
                continue
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        write_files(student_files, dest)
        stamp_file.write_text(timestamp)
        log.info("回収しました: %s %s (%s)", student, assignment, timestamp)
        written.append(student)
        if on_student:
            on_student(student, True)
    return written


class Collect(StaffStep, abc.ExchangeCollect):
    def copy_files(self):
        blob = self.call(
            self.call(self.client).request,
            "GET",
            f"api/courses/{self.course}/assignments/{self.assignment}/collect",
        )
        files = self.call(unpack, blob, max_bytes=2**34, max_files=10**6).files
        wanted = self.coursedir.student_id
        if wanted and wanted != "*":
            files = {n: d for n, d in files.items() if n.split("/", 1)[0] == wanted}
        write_collected(self.coursedir, self.assignment, files, self.update, self.log)


def feedback_to_release(coursedir, assignment: str) -> list[tuple[str, str, dict[str, bytes]]]:
    """(student, stamp, files) for every generated feedback folder of an assignment."""
    feedback_root = Path(coursedir.root) / coursedir.feedback_directory
    wanted = coursedir.student_id if coursedir.student_id not in ("", "*") else None
    found = []
    for folder in sorted(feedback_root.glob(f"*/{assignment}")):
        student = folder.parent.name
        if wanted and student != wanted:
            continue
        stamp_file = folder / "timestamp.txt"
        html = {p.name: p.read_bytes() for p in sorted(folder.glob("*.html"))}
        if not html or not stamp_file.is_file():
            continue
        found.append((student, stamp_from_nbgrader_time(stamp_file.read_text()), html))
    return found


class ReleaseFeedback(StaffStep, abc.ExchangeReleaseFeedback):
    def copy_files(self):
        client = self.call(self.client)
        for student, stamp, files in feedback_to_release(self.coursedir, self.assignment):
            self.call(
                client.send,
                "PUT",
                f"api/courses/{self.course}/assignments/{self.assignment}/feedback/"
                f"{student}/{stamp}",
                pack(files),
            )
            self.log.info("講評を返却しました: %s %s", student, self.assignment)


STAFF_CLASSES = {
    "release_assignment": ReleaseAssignment,
    "release_feedback": ReleaseFeedback,
    "collect": Collect,
}
