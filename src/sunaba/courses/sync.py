"""`sunaba courses sync`: make every valid course file true on this machine.

For each course, idempotently: the grader account and private course directory, the nbgrader
config, the sources copied from `exercises/<id>/`, the generated learner version released to
the exchange, the course's entry in the exchange and the records database, and who belongs to
`nbgrader-<id>` and `formgrade-<id>`. A broken course file changes nothing of that course and
is reported; the others still sync. A course whose file was removed is retired: nobody is
enrolled any more and learners no longer see it, while its submissions, gradebook and records
stay; putting the file back brings it back. Running it twice reports nothing the second time.
On Kubernetes (`sunaba.courses.hub_owned`) no account is made and each course's formgrader is a
pod that the sync creates, updates and deletes through the API (`sunaba.courses.formgrader_pods`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.config.schema import SiteConfig
from sunaba.courses.accounts import ensure_grader
from sunaba.courses.groups import (
    GroupPlan,
    groups_file,
    plan_group,
    read_plans,
    reconcile_groups,
    write_plans,
)
from sunaba.courses.hub_owned import (
    course_dir_exists,
    ensure_course_dir,
    ensure_formgrader_token,
    hub_owns_courses,
)
from sunaba.courses.layout import (
    GRADER_GROUP,
    LEARNER_GROUP,
    courses_dir,
    exchange_root,
    exercises_dir,
)
from sunaba.courses.learner_files import ensure_learner_files, formgrader_overrides
from sunaba.courses.model import Catalogue, Course, CourseProblem, load_catalogue
from sunaba.courses.progress import record_course, record_enrolments, retire_course_record
from sunaba.exchange.archive import collect_files, pack
from sunaba.exchange.store import ExchangeStore
from sunaba.grading.runner import files_from, run_step
from sunaba.records.db import default_records_url, ensure_records_schema, session_scope
from sunaba.records.models import Person

GRADING_CONFIG = {
    # Hidden tests never reach feedback (see sunaba.grading.nbfilters).
    "GenerateFeedback": {
        "preprocessors": [
            "nbgrader.preprocessors.GetGrades",
            "sunaba_portable.grading.nbfilters.HideHiddenTests",
            "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
        ]
    },
    "AssignLatePenalties": {"plugin_class": "nbgrader.plugins.LateSubmissionPlugin"},
    # The formgrader's autograde button: nbgrader's steps, with learners' code run in a
    # grading sandbox by the exchange service instead of by the grader account.
    "Autograde": {
        "autograde_preprocessors": [
            "sunaba_portable.grading.replay.SandboxedExecute",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]
    },
    "ClearSolutions": {
        "code_stub": {"python": "# ここにコードを書いてください\nraise NotImplementedError()"},
        "text_stub": "ここに答えを書いてください。",
    },
}


@dataclass
class SyncReport:
    changes: dict[str, list[str]] = field(default_factory=dict)  # course -> what changed
    problems: dict[str, list[CourseProblem]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def changed(self, course: str, what: str) -> None:
        self.changes.setdefault(course, []).append(what)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = []
        for course, items in sorted(self.changes.items()):
            out += [f"{course}: {item}" for item in items]
        for course, problems in sorted(self.problems.items()):
            out.append(f"{course}: 同期しませんでした（変更なし）")
            out += [f"  {p}" for p in problems]
        return out + self.notes


def course_nbgrader_config(course: Course) -> dict:
    return {
        **GRADING_CONFIG,
        "CourseDirectory": {"course_id": course.id},
        "SandboxedExecute": {"course_id": course.id},
    }


def course_info(course: Course) -> dict:
    """What the exchange needs to know about a course (also for its API listing)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(UTC).isoformat() if moment else None

    return {
        "id": course.id,
        "title": course.title.ja,
        "datasets": list(course.datasets),
        "assignments": [
            {
                "id": a.id,
                "title": a.title.ja,
                "opens": iso(a.opens),
                "due": iso(a.due),
                "late": a.late.value,
                "points": a.points,
            }
            for a in course.assignments
        ],
    }


# ----------------------------------------------------------------------------------------------
# Enrolment


def hub_group_members(config: SiteConfig, names: list[str], client=None) -> dict[str, set[str]]:
    """Members of hub groups: from the API when the hub runs, else from its database."""
    if not names:
        return {}
    if client is not None:
        import urllib.parse

        found = {}
        for name in names:
            status, model = client.call(
                "GET", "/groups/" + urllib.parse.quote(name, safe=""), ok=[404]
            )
            found[name] = set(model.get("users", [])) if status == 200 and model else set()
        return found
    from sqlalchemy import create_engine, inspect, text

    from sunaba.runtime.state import StatePaths

    url = StatePaths.from_config(config).hub_db_url(config)
    db_file = StatePaths.from_config(config).hub_db
    if url.startswith("sqlite") and not db_file.exists():
        return {name: set() for name in names}
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("user_group_map"):
            return {name: set() for name in names}
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT g.name, u.name FROM groups g JOIN user_group_map m ON m.group_id = g.id"
                    " JOIN users u ON u.id = m.user_id"
                )
            )
            found = {name: set() for name in names}
            for group, user in rows:
                if group in found:
                    found[group].add(user)
            return found
    finally:
        engine.dispose()


def enrolled_learners(
    course: Course, session: Session, group_members: dict[str, set[str]]
) -> set[str]:
    learners = set(course.enrolment.users)
    for group in course.enrolment.groups:
        learners |= group_members.get(group, set())
    if course.enrolment.departments:
        rows = session.scalars(
            select(Person.login).where(Person.department.in_(course.enrolment.departments))
        )
        learners |= set(rows)
    return learners


# ----------------------------------------------------------------------------------------------
# One course


def _assignment_tar(folder: Path) -> bytes:
    return pack(collect_files(folder, max_bytes=2**30))


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
    missing = [a for a in course.assignments if not (exercises / a.folder).is_dir()]
    if missing:
        raise CourseSyncError(
            [
                CourseProblem(
                    str(exercises),
                    f"assignments.{a.id}.source",
                    f"フォルダ {a.folder} がありません",
                )
                for a in missing
            ]
        )
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
                    CourseProblem(
                        f"exercises/{course.id}/{assignment.folder}",
                        f"assignments.{assignment.id}.points",
                        f"ノートブックの配点の合計は {result['max_score']:g} 点ですが、"
                        f"course.yaml では {assignment.points:g} 点です",
                    )
                ]
            )
    # Only now, with every check passed, does anything learners can see change.
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
    return store.released(course.id)


class CourseSyncError(Exception):
    def __init__(self, problems: list[CourseProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ----------------------------------------------------------------------------------------------
# Everything


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
    (`sunaba.courses.formgrader_pods`); before the running hub is told about the services."""
    from sunaba.courses.formgrader_pods import sync_formgraders

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


def apply_live_services(client) -> list[str]:
    """Start the formgraders of newly synced courses (and stop those of retired ones) in the
    running hub, as a restart would (see `sunaba.hub.live_services`)."""
    from sunaba.hub.live_services import ROUTE

    status, result = client.call("POST", ROUTE.removeprefix("/api"), {}, ok=[403, 404])
    if status != 200 or not isinstance(result, dict):
        return ["実行中のハブに採点画面を反映できませんでした。ハブを再起動すると反映されます"]
    notes = [f"採点画面を起動しました: {name}" for name in result.get("started", [])]
    notes += [f"採点画面を停止しました: {name}" for name in result.get("stopped", [])]
    notes += [
        f"採点画面を起動できませんでした（ハブのログを確認してください）: {name}"
        for name in result.get("failed", [])
    ]
    return notes


def hub_client(config: SiteConfig):
    """A client of the running hub's API with the admin service token, or None."""
    import urllib.error

    from sunaba.runtime.state import StatePaths, read_secrets
    from sunaba.users.apply import _HubClient, hub_api_url

    token = (
        read_secrets(StatePaths.from_config(config)).get("service_tokens", {}).get("sunaba-admin")
    )
    if not token:
        return None
    client = _HubClient(hub_api_url(config), token, timeout=30)
    try:
        client.call("GET", "/", ok=[401, 403])
    except (urllib.error.URLError, OSError):
        return None
    return client


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
    exercises = exercises_dir(config, hub_config_dir)
    store = ExchangeStore(exchange_root(config))
    store.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if client is None and use_running_hub:
        client = hub_client(config)
    records_url = default_records_url(config)
    ensure_records_schema(records_url)

    plans_path = groups_file(config)
    old_plans = read_plans(plans_path)
    plans: dict[str, GroupPlan] = dict(old_plans)
    wanted_groups = sorted({g for c in catalogue.courses.values() for g in c.enrolment.groups})
    group_members = hub_group_members(config, wanted_groups, client)

    for course_id, course in catalogue.courses.items():
        folder = courses_dir(config, hub_config_dir) / course_id
        try:
            released = sync_course(
                config,
                course,
                exercises=exercises / course_id,
                readme=folder / "README.md",
                store=store,
                report=report,
                now=now,
            )
        except CourseSyncError as exc:
            report.problems[course_id] = exc.problems
            continue
        except Exception as exc:  # one course failing must not stop the others
            report.problems[course_id] = [CourseProblem(str(folder), "(同期)", str(exc))]
            continue
        with session_scope(records_url) as session:
            if record_course(session, course, released):
                report.changed(course_id, "記録データベースのコース情報を更新しました")
            learners = enrolled_learners(course, session, group_members)
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
        plans[learner_group] = plan_group(old_plans.get(learner_group), learners)
        plans[staff_group] = plan_group(old_plans.get(staff_group), course.staff)

    courses_root = courses_dir(config, hub_config_dir)
    if courses_root.is_dir():
        for course_id in store.courses():
            if course_id not in catalogue.courses and course_id not in catalogue.problems:
                retire_course(config, course_id, store, plans, records_url, report, now)
    else:
        # A mistyped path must not end every course.
        report.notes.append(
            f"コースのフォルダ {courses_root} がないため、終了したコースの確認をしませんでした"
        )

    write_plans(plans_path, plans)
    if hub_owns_courses(config):
        sync_formgrader_pods(config, store, report, kube_configuration)
    if client is not None:
        changes = reconcile_groups(client, plans)
        for group, users in changes.added.items():
            report.notes.append(f"ハブのグループ {group} に追加: {', '.join(users)}")
        for group, users in changes.removed.items():
            report.notes.append(f"ハブのグループ {group} から削除: {', '.join(users)}")
        report.notes += apply_live_services(client)
    if log is not None:
        for line in report.lines():
            log(line)
    return report
