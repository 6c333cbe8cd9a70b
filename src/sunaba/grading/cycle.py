"""The grading cycle on the hub machine: collect, autograde, feedback, release feedback.

The exchange store is read here (root, inside the state dir); everything that touches the
course directory runs as the course's grader account through `run_step`. Each step also
updates the records database so the course pages follow.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sunaba.config.schema import SiteConfig
from sunaba.core.archive import pack
from sunaba.core.layout import courses_dir, exchange_root, exercises_dir
from sunaba.courses import progress
from sunaba.courses.insight_records import record_question_scores
from sunaba.courses.model import Assignment, Course, CourseError, load_course_file
from sunaba.exchange.solutions import publish, refusal
from sunaba.exchange.store import ExchangeStore, StoreError
from sunaba.grading.backends import run_jobs
from sunaba.grading.jobs import Job, SandboxError
from sunaba.grading.probes import tampering_note
from sunaba.grading.runner import GradingError, files_from, run_step
from sunaba.progress import Progress
from sunaba.records.db import default_records_url, ensure_records_schema, session_scope


@dataclass
class StudentResult:
    ok: bool
    score: float | None = None
    max_score: float | None = None
    late: bool = False
    needs_manual_grade: bool = False
    error: str = ""
    notes: list[str] = field(default_factory=list)  # Japanese, for the instructor's report
    questions: list[dict] = field(default_factory=list)  # per graded cell, from the gradebook


class Autograder(Protocol):
    """Runs learners' notebooks and writes their autograded scores into the gradebook."""

    def autograde(
        self, course: Course, assignment: Assignment, students: list[str] | None
    ) -> dict[str, StudentResult]: ...


@dataclass
class SandboxedAutograder:
    """nbgrader's autograde with the learners' code run in sandboxes, several at once.

    The course's grader account prepares the submissions (test cells restored from the
    source) and, at the end, writes the scores; in between, the root process runs each
    submission in a sandbox of its own (`sunaba.grading.sandbox`). The grader account never
    runs learners' code, so no submission can reach the gradebook or another submission.

    On Kubernetes (`grading.backend: kubernetes`) the same steps run as the hub's own user and
    each submission in a grading pod of its own (`sunaba.grading.pods`): `run_step` and
    `run_jobs` choose.

    A large class goes through in chunks, so that preparing and scoring one chunk overlaps
    running another. The grader's steps stay one at a time, in order (one gradebook writer)."""

    config: SiteConfig
    chunk_size: int = 40
    seconds: dict[str, float] = field(default_factory=dict)  # per phase, summed over chunks
    progress: Progress | None = None  # told of each submission as its sandbox finishes

    def autograde(self, course, assignment, students):
        from concurrent.futures import ThreadPoolExecutor

        self.seconds = {"prepare": 0.0, "sandboxes": 0.0, "score": 0.0}
        request = {"assignment": assignment.id, "late_policy": assignment.late.value}
        names = students or run_step(self.config, course.id, "submitted", **request)
        if self.progress:
            self.progress.total = len(names)
        count = max(1, -(-len(names) // self.chunk_size))
        chunks = [names[i::count] for i in range(count)] if names else [[]]
        results: dict[str, StudentResult] = {}
        with (
            ThreadPoolExecutor(1, thread_name_prefix="grader") as grader,
            ThreadPoolExecutor(1, thread_name_prefix="sandboxes") as sandboxes,
        ):
            prepared = [grader.submit(self._prepare, course, request, c) for c in chunks]
            ran = [sandboxes.submit(self._run, course, assignment, p) for p in prepared]
            scored = [
                grader.submit(self._score, course, request, p, r)
                for p, r in zip(prepared, ran, strict=True)
            ]
            for future in scored:
                results.update(future.result())
        return results

    def _timed(self, phase: str, started: float) -> None:
        self.seconds[phase] += time.perf_counter() - started

    def _prepare(self, course, request, students):
        started = time.perf_counter()
        prepared = run_step(
            self.config, course.id, "autograde_prepare", students=students, **request
        )
        self._timed("prepare", started)
        return prepared

    def _run(self, course, assignment, prepared_future):
        jobs = []
        for student, item in sorted(prepared_future.result().items()):
            if item["ok"]:
                jobs.append(Job(student, files_from(item["files"]), tuple(item["notebooks"])))
        started = time.perf_counter()
        try:
            ran = (
                run_jobs(self.config, course.id, assignment.id, jobs, on_done=self._ran)
                if jobs
                else {}
            )
        except SandboxError as exc:
            raise GradingError(str(exc)) from exc
        self._timed("sandboxes", started)
        return ran

    def _ran(self, student: str) -> None:
        if self.progress:
            self.progress.done(student, "実行しました")

    def _score(self, course, request, prepared_future, ran_future):
        prepared, ran = prepared_future.result(), ran_future.result()
        results = {
            student: StudentResult(ok=False, error=item.get("error", ""))
            for student, item in prepared.items()
            if not item["ok"]
        }
        if not ran:
            return results
        started = time.perf_counter()
        executed = {
            f"{student}/{name}": json.dumps(notebook, ensure_ascii=False).encode("utf-8")
            for student, outcome in ran.items()
            for name, notebook in outcome.executed.items()
        }
        changed = {student: prepared[student].get("changed", {}) for student in ran}
        scored = run_step(
            self.config,
            course.id,
            "autograde_finish",
            stdin=pack(executed),
            students=sorted(ran),
            changed=changed,
            **request,
        )
        for student, values in scored.items():
            notes = tampering_notes(changed[student]) + ran[student].problems
            for name, notebook in sorted(ran[student].executed.items()):
                notes += tampering_note(name, notebook)
            results[student] = StudentResult(**values, notes=notes)
        self._timed("score", started)
        return results


def tampering_notes(changed: dict) -> list[str]:
    """{notebook: {grade_id: "changed" | "removed"}} as lines of the instructor's report."""
    words = {"removed": "削除されていました", "changed": "書き換えられていました"}
    return [
        f"{notebook}: 変更できないセル {grade_id} が{words[kind]}"
        for notebook, cells in sorted(changed.items())
        for grade_id, kind in cells.items()
    ]


@dataclass
class CycleReport:
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def find_course(
    config: SiteConfig, course_id: str, assignment_id: str
) -> tuple[Course, Assignment]:
    path = courses_dir(config) / course_id / "course.yaml"
    if not path.is_file():
        raise GradingError(f"コース {course_id!r} はありません（{path}）")
    try:
        course = load_course_file(path)
    except CourseError as exc:
        raise GradingError(str(exc)) from exc
    assignment = course.assignment(assignment_id)
    if assignment is None:
        known = "、".join(a.id for a in course.assignments)
        raise GradingError(f"課題 {assignment_id!r} はコース {course_id} にありません（{known}）")
    return course, assignment


def _store(config: SiteConfig) -> ExchangeStore:
    return ExchangeStore(exchange_root(config))


def collect(
    config: SiteConfig, course: Course, assignment: Assignment, tracker: Progress | None = None
) -> CycleReport:
    """`tracker` shows each learner's submission as the grader account writes it."""
    store = _store(config)
    files = store.latest_files(course.id, assignment.id)
    count = len({name.split("/", 1)[0] for name in files})
    if tracker:
        tracker.total = count

    def done(item: dict) -> None:
        tracker.done(item["item"], "回収しました" if item["written"] else "変更なし（回収済み）")

    result = run_step(
        config,
        course.id,
        "collect",
        stdin=pack(files),
        assignment=assignment.id,
        on_done=done if tracker else None,
    )
    return CycleReport(
        [f"{count} 人分の最新の提出のうち {len(result['written'])} 件を回収しました"]
        + [f"  {name}" for name in result["written"]]
    )


def record_scores(config: SiteConfig, course: Course, assignment: Assignment, results) -> None:
    url = default_records_url(config)
    ensure_records_schema(url)
    now = datetime.now(UTC)
    with session_scope(url) as session:
        for student, result in results.items():
            if result.score is not None:
                progress.mark_graded(
                    session, course.id, assignment.id, student, result.score,
                    result.max_score or 0, now,
                )  # fmt: skip
                if result.questions:
                    record_question_scores(
                        session, course.id, assignment.id, student, result.questions
                    )


def autograde(
    config: SiteConfig,
    course: Course,
    assignment: Assignment,
    students: list[str] | None = None,
    autograder: Autograder | None = None,
    tracker: Progress | None = None,
) -> CycleReport:
    """`tracker` shows each submission as its sandbox finishes (long classes take minutes)."""
    autograder = autograder or SandboxedAutograder(config, progress=tracker)
    results = autograder.autograde(course, assignment, students)
    record_scores(config, course, assignment, results)
    report = CycleReport()
    for student, result in sorted(results.items()):
        if not result.ok:
            report.failed.append(student)
            report.lines.append(f"  {student}: 自動採点に失敗しました: {result.error}")
            continue
        notes = []
        if result.late:
            notes.append("締切後の提出")
        if result.needs_manual_grade:
            notes.append("手動採点が必要")
        extra = f"（{'・'.join(notes)}）" if notes else ""
        report.lines.append(f"  {student}: {result.score:g} / {result.max_score:g} 点{extra}")
        report.lines += [f"    ・{note}" for note in result.notes]
    report.lines.insert(0, f"{len(results)} 人分を自動採点しました")
    return report


def sync_scores(config: SiteConfig, course: Course) -> dict:
    """Copy every score from the gradebook into the records database (after manual grading
    too); returns {assignment: {student: score info}}."""
    raw = run_step(config, course.id, "scores", assignments=[a.id for a in course.assignments])
    for assignment in course.assignments:
        results = {
            student: StudentResult(ok=True, **values)
            for student, values in raw.get(assignment.id, {}).items()
        }
        record_scores(config, course, assignment, results)
    return raw


def generate_feedback(
    config: SiteConfig, course: Course, assignment: Assignment, students: list[str] | None = None
) -> CycleReport:
    results = run_step(
        config, course.id, "feedback", assignment=assignment.id, students=students or []
    )
    # The scores as feedback shows them, manual grades given since autograde included.
    record_scores(
        config,
        course,
        assignment,
        {student: StudentResult(**r) for student, r in results.items() if r["ok"]},
    )
    report = CycleReport(
        [f"{len(results)} 人分の講評を作成しました（非公開のテストは除いています）"]
    )
    for student, result in sorted(results.items()):
        if not result["ok"]:
            report.failed.append(student)
            report.lines.append(f"  {student}: 講評の作成に失敗しました: {result['error']}")
    return report


def release_feedback(
    config: SiteConfig, course: Course, assignment: Assignment, students: list[str] | None = None
) -> CycleReport:
    store = _store(config)
    found = run_step(
        config, course.id, "feedback_files", assignment=assignment.id, students=students or []
    )
    report = CycleReport()
    url = default_records_url(config)
    ensure_records_schema(url)
    now = datetime.now(UTC)
    released = []
    for student, item in sorted(found.items()):
        store.put_feedback(
            course.id, student, assignment.id, item["stamp"], files_from(item["files"])
        )
        released.append(student)
    with session_scope(url) as session:
        for student in released:
            progress.mark_feedback(session, course.id, assignment.id, student, now)
    report.lines.append(f"{len(released)} 人に講評を返却しました")
    report.lines += [f"  {name}" for name in released]
    if released:
        report.lines += solutions_with_feedback(config, course, assignment, now)
    return report


def solutions_with_feedback(
    config: SiteConfig, course: Course, assignment: Assignment, now: datetime
) -> list[str]:
    """After the due date, feedback brings the model solution along; before, a note saying
    when it will."""
    reason = refusal(assignment.due, now)
    if reason:
        return [f"解答例はまだ公開していません: {reason}"]
    try:
        return release_solutions(config, course, assignment, now).lines
    except GradingError as exc:  # the feedback is out already; say why the solution is not
        return [f"解答例を公開できませんでした: {exc}"]


def release_solutions(
    config: SiteConfig, course: Course, assignment: Assignment, now: datetime | None = None
) -> CycleReport:
    """Put the model solutions (hidden tests removed) where learners who have feedback get them
    with 「フィードバックを取得」. Refused before the due date; afterwards learners can no
    longer submit this assignment."""
    now = now or datetime.now(UTC)
    reason = refusal(assignment.due, now)
    if reason:
        raise GradingError(f"解答例は公開できません: {reason}")
    folder = exercises_dir(config) / course.id / assignment.folder
    try:
        changed = publish(
            _store(config), course.id, assignment.id, folder, due=assignment.due, now=now
        )
    except StoreError as exc:
        raise GradingError(str(exc)) from exc
    state = "公開しました" if changed else "公開済みです（変更なし）"
    return CycleReport(
        [
            f"課題 {assignment.id} の解答例を{state}（非公開のテストは除いています）",
            "講評を返却された受講者は「フィードバックを取得」で解答例も受け取ります。"
            "この課題の提出は、これ以後受け付けません",
        ]
    )
