"""`sunaba courses sync|list|check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sunaba.classroom.hub import synced_courses
from sunaba.config import ConfigError, SiteConfig, load_config
from sunaba.core.jadate import format_ja
from sunaba.core.layout import courses_dir, exercises_dir
from sunaba.courses.model import load_catalogue


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    courses = subparsers.add_parser("courses", help="courses declared in courses/<id>/course.yaml")
    sub = courses.add_subparsers(dest="courses_command", required=True)
    sync = sub.add_parser(
        "sync",
        help="create or update every course: accounts, groups, gradebook, released assignments",
    )
    sync.add_argument(
        "--offline",
        action="store_true",
        help="do not contact a running hub (groups are applied when it next starts)",
    )
    sync.set_defaults(func=cmd_sync)
    sub.add_parser("list", help="show the courses and their assignments").set_defaults(
        func=cmd_list
    )
    sub.add_parser("check", help="validate the course files; change nothing").set_defaults(
        func=cmd_check
    )


def _config(args: argparse.Namespace) -> SiteConfig | None:
    try:
        return load_config(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def cmd_sync(args: argparse.Namespace) -> int:
    from sunaba.classroom.sync import sync_courses

    config = _config(args)
    if config is None:
        return 1
    report = sync_courses(config, use_running_hub=not args.offline)
    lines = report.lines()
    print("\n".join(lines) if lines else "変更はありません（すべて同期済み）")
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace) -> int:
    config = _config(args)
    if config is None:
        return 1
    catalogue = load_catalogue(courses_dir(config))
    synced = set(synced_courses(config))
    for course_id, course in catalogue.courses.items():
        state = "同期済み" if course_id in synced else "未同期"
        print(f"{course_id}  {course.title.ja}  [{state}]")
        print(
            f"  講師: {', '.join(course.instructors)}  受講者（指定）: {len(course.enrolment.users)} 人"
        )
        for a in course.assignments:
            print(f"  - {a.id}  {a.title.ja}  締切 {format_ja(a.due)}  遅れ提出: {a.late.value}")
    for course_id in catalogue.problems:
        print(f"{course_id}  [course.yaml に問題があります: sunaba courses check]")
    if not catalogue.courses and not catalogue.problems:
        print(f"コースはありません（{courses_dir(config)}）")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    config = _config(args)
    if config is None:
        return 1
    catalogue = load_catalogue(courses_dir(config))
    exercises = exercises_dir(config)
    problems = [str(p) for items in catalogue.problems.values() for p in items]
    for course_id, course in catalogue.courses.items():
        for a in course.assignments:
            folder = exercises / course_id / a.folder
            if not folder.is_dir():
                problems.append(f"{folder}: assignments.{a.id}.source: フォルダがありません")
            elif not any(folder.glob("*.ipynb")):
                problems.append(f"{folder}: ノートブック（.ipynb）がありません")
    for line in problems:
        print(line, file=sys.stderr)
    if not problems:
        print(f"問題はありません（{len(catalogue.courses)} コース）")
    return 1 if problems else 0
