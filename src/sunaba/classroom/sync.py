"""`sunaba courses sync`: make every valid course file true on this machine.

For each course, idempotently: the grader account and private course directory, the nbgrader
config, the sources copied from `exercises/<id>/`, the generated learner version released to
the exchange, the course's entry in the exchange and the records database, and who belongs to
`nbgrader-<id>` and `formgrade-<id>`. A broken course file changes nothing of that course and
is reported; the others still sync. A course whose file was removed is retired: nobody is
enrolled any more and learners no longer see it, while its submissions, gradebook and records
stay; putting the file back brings it back. Running it twice reports nothing the second time.
On Kubernetes (`sunaba.courses.hub_owned`) no account is made and each course's formgrader is a
pod that the sync creates, updates and deletes through the API (`sunaba.classroom.formgrader_pods`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sunaba.classroom.course_sync import CourseSyncError, sync_course
from sunaba.classroom.formgrader_pods import sync_formgraders
from sunaba.classroom.hub import synced_courses
from sunaba.config.problems import Problem
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import (
    FORMGRADER_SERVICE,
    GRADER_GROUP,
    LEARNER_GROUP,
    courses_dir,
    exchange_root,
    exercises_dir,
)
from sunaba.courses.enrolment import enrolled_learners, hub_group_members
from sunaba.courses.groups import GroupPlan, groups_file, plan_group, read_plans, write_plans
from sunaba.courses.hub_owned import (
    course_dir_exists,
    ensure_formgrader_token,
    hub_owns_courses,
)
from sunaba.courses.model import Catalogue, Course, load_catalogue
from sunaba.courses.progress import record_course, record_enrolments, retire_course_record
from sunaba.courses.running_hub import hub_client, update_running_hub
from sunaba.courses.sync_report import SyncReport
from sunaba.exchange.learner_files import ensure_learner_files
from sunaba.exchange.store import ExchangeStore
from sunaba.records.db import default_records_url, ensure_records_schema, session_scope


def retire_course(
    config: SiteConfig,
    course_id: str,
    store: ExchangeStore,
    plans: dict[str, GroupPlan],
    records_url: str,
    report: SyncReport,
    now: datetime,
) -> None:
    """The course file is gone: end every enrolment the course files made and take the course
    out of the exchange's listings. Nothing is deleted."""
    store.retire(course_id, now)
    for template in (LEARNER_GROUP, GRADER_GROUP):
        group = template.format(course_id)
        plans[group] = plan_group(plans.get(group), [])
    with session_scope(records_url) as session:
        ended = retire_course_record(session, course_id)
    report.changed(
        course_id,
        "course.yaml がなくなったため、コースを終了しました"
        "（提出物・成績・記録は残ります。course.yaml を戻して同期すると再開します）",
    )
    for item in ended["removed"]:
        report.changed(course_id, f"登録解除（提出物と成績は残ります）: {item}")


def sync_formgrader_pods(
    config: SiteConfig, store: ExchangeStore, report: SyncReport, kube_configuration=None
) -> None:
    """On Kubernetes: a formgrader pod per synced course, none for retired ones
    (`sunaba.classroom.formgrader_pods`); before the running hub is told about the services."""
    tokens = {}
    for course_id in store.courses():
        if course_dir_exists(config, course_id):
            tokens[course_id], _ = ensure_formgrader_token(config, course_id)
    retired = store.courses(retired=True)
    if not tokens and not retired:
        return  # a site without courses needs no API access at all
    changes = sync_formgraders(config, tokens, retired, configuration=kube_configuration)
    for course_id, items in changes.changes.items():
        for item in items:
            report.changed(course_id, item)
    report.notes += changes.problems


@dataclass
class _SyncRun:
    """What every course of one `sync_courses` run shares."""

    config: SiteConfig
    courses_root: Path
    exercises: Path
    store: ExchangeStore
    records_url: str
    report: SyncReport
    now: datetime
    old_plans: dict[str, GroupPlan]
    plans: dict[str, GroupPlan]
    group_members: dict[str, set[str]] = field(default_factory=dict)


def _sync_enrolled_course(run: _SyncRun, course_id: str, course: Course) -> None:
    """One course of the catalogue: its files and releases, then its records and groups. A
    failure is the course's problem and leaves its groups as they were."""
    report = run.report
    folder = run.courses_root / course_id
    try:
        released = sync_course(
            run.config,
            course,
            exercises=run.exercises / course_id,
            readme=folder / "README.md",
            store=run.store,
            report=report,
            now=run.now,
        )
    except CourseSyncError as exc:
        report.problems[course_id] = exc.problems
        return
    except Exception as exc:  # one course failing must not stop the others
        report.problems[course_id] = [Problem(str(folder), "(同期)", str(exc))]
        return
    with session_scope(run.records_url) as session:
        if record_course(session, course, released):
            report.changed(course_id, "記録データベースのコース情報を更新しました")
        learners = enrolled_learners(course, session, run.group_members)
        members = {
            "learner": learners,
            "instructor": set(course.instructors),
            "grader": set(course.graders) - set(course.instructors),
        }
        enrolments = record_enrolments(session, course_id, members)
    for item in enrolments["added"]:
        report.changed(course_id, f"登録: {item}")
    for item in enrolments["removed"]:
        report.changed(course_id, f"登録解除（提出物と成績は残ります）: {item}")
    learner_group, staff_group = LEARNER_GROUP.format(course_id), GRADER_GROUP.format(course_id)
    run.plans[learner_group] = plan_group(run.old_plans.get(learner_group), learners)
    run.plans[staff_group] = plan_group(run.old_plans.get(staff_group), course.staff)


def _retire_removed_courses(run: _SyncRun, catalogue: Catalogue) -> None:
    if run.courses_root.is_dir():
        for course_id in run.store.courses():
            if course_id not in catalogue.courses and course_id not in catalogue.problems:
                retire_course(
                    run.config,
                    course_id,
                    run.store,
                    run.plans,
                    run.records_url,
                    run.report,
                    run.now,
                )
    else:
        # A mistyped path must not end every course.
        run.report.notes.append(
            f"コースのフォルダ {run.courses_root} がないため、終了したコースの確認をしませんでした"
        )


def sync_courses(
    config: SiteConfig,
    *,
    hub_config_dir: Path | None = None,
    client=None,
    use_running_hub: bool = True,
    now: datetime | None = None,
    log: Callable[[str], None] | None = None,
    kube_configuration=None,
) -> SyncReport:
    """Sync every course under the courses directory (see the module docstring).

    With `use_running_hub`, group changes go to the hub at once when it answers; otherwise
    (and in any case) they are applied when the hub next starts. On Kubernetes the formgrader
    pods are made through the API (`kube_configuration`, else the pod's service account).
    """
    now = now or datetime.now(UTC)
    report = SyncReport()
    catalogue: Catalogue = load_catalogue(courses_dir(config, hub_config_dir))
    report.problems.update(catalogue.problems)
    changed_files = ensure_learner_files(config)
    if changed_files:
        report.notes.append(
            f"学習者用の nbgrader 設定を更新しました（{len(changed_files)} ファイル）"
        )
    store = ExchangeStore(exchange_root(config))
    store.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if client is None and use_running_hub:
        client = hub_client(config)
    records_url = default_records_url(config)
    ensure_records_schema(records_url)
    plans_path = groups_file(config)
    old_plans = read_plans(plans_path)
    run = _SyncRun(
        config=config,
        courses_root=courses_dir(config, hub_config_dir),
        exercises=exercises_dir(config, hub_config_dir),
        store=store,
        records_url=records_url,
        report=report,
        now=now,
        old_plans=old_plans,
        plans=dict(old_plans),
    )
    wanted_groups = sorted({g for c in catalogue.courses.values() for g in c.enrolment.groups})
    run.group_members = hub_group_members(config, wanted_groups, client)
    for course_id, course in catalogue.courses.items():
        _sync_enrolled_course(run, course_id, course)
    _retire_removed_courses(run, catalogue)
    write_plans(plans_path, run.plans)
    if hub_owns_courses(config):
        sync_formgrader_pods(config, store, report, kube_configuration)
    if client is not None:
        formgraders = {FORMGRADER_SERVICE.format(c) for c in synced_courses(config)}
        report.notes += update_running_hub(config, client, run.plans, formgraders)
    if log is not None:
        for line in report.lines():
            log(line)
    return report
