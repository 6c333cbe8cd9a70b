"""Syncing one course file: its directory and nbgrader config, its sources copied in, the
learner versions generated and checked, and only then what learners see (the course info, its
syllabus, the released assignments). Groups and records are `sunaba.classroom.sync`'s part."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sunaba.config.problems import Problem, ProblemsError
from sunaba.config.schema import SiteConfig
from sunaba.core.archive import collect_files, pack
from sunaba.courses.accounts import ensure_grader
from sunaba.courses.course_settings import course_info, course_nbgrader_config
from sunaba.courses.hub_owned import ensure_course_dir, hub_owns_courses
from sunaba.courses.model import Assignment, Course
from sunaba.courses.sync_report import SyncReport
from sunaba.exchange.learner_files import formgrader_overrides
from sunaba.exchange.store import ExchangeStore
from sunaba.grading.runner import files_from, run_step


class CourseSyncError(ProblemsError):
    """A course could not be put on the hub; `problems` says where and why (Japanese)."""


def _assignment_tar(folder: Path) -> bytes:
    return pack(collect_files(folder, max_bytes=2**30))


def _set_up_course_dir(config: SiteConfig, course: Course, report: SyncReport) -> None:
    """The course's directory (and, on one machine, its grader account) with its configs."""
    if hub_owns_courses(config):
        _, created = ensure_course_dir(config, course.id)
        if created:
            report.changed(course.id, "コースのフォルダを作りました")
    else:
        _, created = ensure_grader(config, course.id)
        if created:
            report.changed(course.id, "採点用アカウントとコースのフォルダを作りました")
    server, page = formgrader_overrides()
    run_step(
        config,
        course.id,
        "setup",
        files={
            "nbgrader_config.json": course_nbgrader_config(course),
            ".jupyter/jupyter_server_config.json": server,
            ".jupyter/labconfig/page_config.json": page,
        },
    )


def _check_sources(course: Course, exercises: Path) -> None:
    missing = [a for a in course.assignments if not (exercises / a.folder).is_dir()]
    if missing:
        raise CourseSyncError(
            [
                Problem(
                    str(exercises),
                    f"assignments.{a.id}.source",
                    f"フォルダ {a.folder} がありません",
                )
                for a in missing
            ]
        )


def _assignments_to_generate(
    config: SiteConfig, course: Course, exercises: Path, store: ExchangeStore
) -> list[Assignment]:
    """Copy every assignment's sources in; those changed, not yet released or with a moved due
    date need generating again."""
    before = {a["id"]: a for a in (store.course_info(course.id) or {}).get("assignments", [])}
    wanted = {a["id"]: a for a in course_info(course)["assignments"]}
    to_generate = []
    for assignment in course.assignments:
        result = run_step(
            config,
            course.id,
            "put_source",
            stdin=_assignment_tar(exercises / assignment.folder),
            assignment=assignment.id,
        )
        released = assignment.id in store.released(course.id)
        due_moved = before.get(assignment.id, {}).get("due") != wanted[assignment.id]["due"]
        if result["changed"] or not released or due_moved:
            to_generate.append(assignment)
    return to_generate


def _generate(config: SiteConfig, course: Course, to_generate: list[Assignment]) -> dict:
    """The learner versions, each checked against the points its course file declares."""
    generated = {}
    if to_generate:
        generated = run_step(
            config,
            course.id,
            "generate",
            assignments=[
                {"id": a.id, "due": a.due.astimezone(UTC).isoformat() if a.due else None}
                for a in to_generate
            ],
        )
    for assignment in to_generate:
        result = generated[assignment.id]
        if assignment.points is not None and abs(result["max_score"] - assignment.points) > 1e-6:
            raise CourseSyncError(
                [
                    Problem(
                        f"exercises/{course.id}/{assignment.folder}",
                        f"assignments.{assignment.id}.points",
                        f"ノートブックの配点の合計は {result['max_score']:g} 点ですが、"
                        f"course.yaml では {assignment.points:g} 点です",
                    )
                ]
            )
    return generated


def _publish(
    course: Course,
    readme: Path | None,
    store: ExchangeStore,
    generated: dict,
    to_generate: list[Assignment],
    report: SyncReport,
    now: datetime,
) -> None:
    """What learners can see: the course info, its syllabus and the generated assignments."""
    if store.write_course_info(course.id, course_info(course)):
        report.changed(course.id, "受け渡しサービスにコース情報を登録しました")
    if readme is not None and readme.is_file():
        target = store.course_dir(course.id) / "README.md"
        text = readme.read_bytes()
        if not target.is_file() or target.read_bytes() != text:
            target.write_bytes(text)
            report.changed(course.id, "シラバス（README.md）を更新しました")
    for assignment in to_generate:
        store.release(course.id, assignment.id, files_from(generated[assignment.id]["files"]))
        when = (
            "配布しました" if assignment.is_open(now) else "配布を準備しました（公開日まで非表示）"
        )
        report.changed(course.id, f"課題 {assignment.id} を生成して{when}")


def sync_course(
    config: SiteConfig,
    course: Course,
    *,
    exercises: Path,
    readme: Path | None,
    store: ExchangeStore,
    report: SyncReport,
    now: datetime,
) -> list[str]:
    """Everything except groups and records; returns the ids of released assignments."""
    _set_up_course_dir(config, course, report)
    _check_sources(course, exercises)
    to_generate = _assignments_to_generate(config, course, exercises, store)
    generated = _generate(config, course, to_generate)
    # Only now, with every check passed, does anything learners can see change.
    _publish(course, readme, store, generated, to_generate, report, now)
    return store.released(course.id)
