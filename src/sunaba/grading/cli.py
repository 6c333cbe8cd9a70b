"""`sunaba grade collect|autograde|feedback|release-feedback|release-solutions|export COURSE
ASSIGNMENT`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sunaba.config import ConfigError, load_config
from sunaba.grading.runner import GradingError
from sunaba.progress import Progress
from sunaba.sandbox.uid_ranges import UidRangeConflict, ensure_uid_range

STEPS = {
    "collect": "collect the latest submission of every learner into the course directory",
    "autograde": "run the autograder on the collected submissions (as the course's grader)",
    "feedback": "generate feedback (hidden tests removed) from the graded submissions",
    "release-feedback": "hand the generated feedback to learners through the exchange "
    "(after the due date, with the model solution)",
    "release-solutions": "after the due date: learners with feedback get the model solution "
    "(hidden tests removed); their submissions are closed",
    "export": "write the grades as CSV (UTF-8 with BOM) and .xlsx",
}


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    grade = subparsers.add_parser("grade", help="grading cycle of a course assignment")
    sub = grade.add_subparsers(dest="grade_command", required=True)
    for step, text in STEPS.items():
        parser = sub.add_parser(step, help=text)
        parser.add_argument("course", help="course id")
        if step == "export":  # with --detail the assignment may be left out: the whole course
            parser.add_argument("assignment", nargs="?", help="assignment id")
        else:
            parser.add_argument("assignment", help="assignment id")
        if step in ("autograde", "feedback", "release-feedback"):
            parser.add_argument("--student", action="append", help="only this learner (repeatable)")
        if step == "export":
            parser.add_argument(
                "-o",
                "--output",
                action="append",
                help="file to write (.csv or .xlsx; repeatable). Default: "
                "<course>-<assignment>-grades.csv and .xlsx here",
            )
            parser.add_argument(
                "--detail",
                action="store_true",
                help="per learner: totals, every assignment, notebook and question, late flags, "
                "manual grading waiting, and the credits of the data used (the same as the "
                "course dashboard's download); without ASSIGNMENT, the whole course",
            )
        parser.set_defaults(func=cmd_grade, step=step)


def cmd_grade(args: argparse.Namespace) -> int:
    from sunaba.grading import cycle

    try:
        config = load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        if args.step == "export" and args.detail:
            return export_detail(config, args.course, args.assignment, args.output)
        if args.assignment is None:
            print(
                "課題のIDを指定してください（コース全体は --detail で書き出せます）",
                file=sys.stderr,
            )
            return 2
        if args.step == "autograde":  # also when no hub runs: grading uids are per install
            ensure_uid_range(config)
        course, assignment = cycle.find_course(config, args.course, args.assignment)
        students = getattr(args, "student", None)
        if args.step == "collect":
            with Progress(0, "回収") as tracker:
                report = cycle.collect(config, course, assignment, tracker=tracker)
        elif args.step == "autograde":
            with Progress(len(students or []), "自動採点") as tracker:
                report = cycle.autograde(config, course, assignment, students, tracker=tracker)
        elif args.step == "feedback":
            report = cycle.generate_feedback(config, course, assignment, students)
        elif args.step == "release-feedback":
            report = cycle.release_feedback(config, course, assignment, students)
        elif args.step == "release-solutions":
            report = cycle.release_solutions(config, course, assignment)
        else:
            return export(config, course, assignment, args.output)
    except (GradingError, UidRangeConflict) as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(report.lines))
    return 1 if report.failed else 0


def export(config, course, assignment, outputs: list[str] | None) -> int:
    from sunaba.grading.cycle import sync_scores
    from sunaba.grading.export import grade_rows, write_export

    scores = sync_scores(config, course).get(assignment.id, {})
    rows = grade_rows(config, course, assignment, scores)
    stem = f"{course.id}-{assignment.id}-grades"
    targets = [Path(o) for o in outputs] if outputs else [Path(f"{stem}.csv"), Path(f"{stem}.xlsx")]
    for target in targets:
        write_export(rows, target, assignment.title.ja)
        print(f"{target}: {len(rows)} 人分")
    return 0


def export_detail(config, course_id: str, assignment_id: str | None, outputs) -> int:
    """The course dashboard's download, from the gradebooks' latest scores."""
    from sunaba.core.layout import courses_dir, exchange_root
    from sunaba.courses.model import CourseError, load_course_file
    from sunaba.exchange.store import ExchangeStore
    from sunaba.grading.cycle import sync_scores
    from sunaba.grading.export import detail_csv, detail_export, detail_xlsx
    from sunaba.records.db import default_records_url, session_scope

    path = courses_dir(config) / course_id / "course.yaml"
    try:
        course = load_course_file(path)
    except (CourseError, OSError):
        print(f"コース {course_id!r} はありません（{path}）", file=sys.stderr)
        return 1
    if assignment_id is not None and course.assignment(assignment_id) is None:
        known = "、".join(a.id for a in course.assignments)
        print(
            f"課題 {assignment_id!r} はコース {course_id} にありません（{known}）", file=sys.stderr
        )
        return 1
    sync_scores(config, course)
    info = ExchangeStore(exchange_root(config)).course_info(course.id) or {}
    with session_scope(default_records_url(config)) as session:
        export = detail_export(session, course.id, info.get("datasets", []), only=assignment_id)
    if export is None:
        print(
            f"コース {course_id!r} の記録がありません（sunaba courses sync を実行してください）",
            file=sys.stderr,
        )
        return 1
    stem = f"{course.id}-{assignment_id}-detail" if assignment_id else f"{course.id}-detail"
    targets = [Path(o) for o in outputs] if outputs else [Path(f"{stem}.csv"), Path(f"{stem}.xlsx")]
    for target in targets:
        data = detail_xlsx(export) if target.suffix.lower() == ".xlsx" else detail_csv(export)
        target.write_bytes(data)
        print(f"{target}: {len(export.rows)} 人分、{len(export.header)} 列")
    return 0
