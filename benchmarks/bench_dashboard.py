"""Benchmark: the staff course dashboard for a large class, side by side with the formgrader's
own gradebook for the same course.

Run with `python benchmarks/bench_dashboard.py [learners]` (default 500). A course of 13
assignments × 5 autograded questions (one notebook each) is written twice:

- into a records database (SQLite file; PostgreSQL at 127.0.0.1:5432 too when it answers):
  enrolments, progress rows, per-question scores and a year of check records (every learner
  checks every question a few times, with hints now and then);
- into an nbgrader gradebook (SQLite, as a formgrader uses) with the same students,
  submissions and scores.

Measured, each REPEAT times after one warm-up, in this process (no HTTP on either side):
- Sunaba: `Pages.course_page` for the staff user — the queries, the analysis and the HTML with
  its SVG charts, exactly what the exchange service serves;
- formgrader: what its gradebook pages ask nbgrader for — `NbGraderAPI.get_students()` (the
  「Manage Students」 gradebook of the whole course) and `get_notebook_submissions()` (the
  gradebook page of one notebook), each timed on its own.

Printed: p50 and p95 in milliseconds and the ratios. Bounded: every render is timed and the
whole run stops at DEADLINE seconds (what was measured until then is printed).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from sunaba.checks.records import CheckEvent  # noqa: E402
from sunaba.classroom.events import RecordsEvents  # noqa: E402
from sunaba.classroom.identity import Caller  # noqa: E402
from sunaba.classroom.pages import Pages  # noqa: E402
from sunaba.config.schema import SiteConfig  # noqa: E402
from sunaba.courses.insight_records import QuestionScore  # noqa: E402
from sunaba.courses.records import (  # noqa: E402
    CourseAssignment,
    CourseRecord,
    Enrolment,
    Progress,
)
from sunaba.records import PersonData, ensure_records_schema, session_scope  # noqa: E402
from sunaba.records.people import upsert_people  # noqa: E402

COURSE = "bench"
ASSIGNMENTS = 13
QUESTIONS = 5
REPEAT = int(os.environ.get("SUNABA_BENCH_REPEAT", 30))
DEADLINE = float(os.environ.get("SUNABA_BENCH_DEADLINE", 900))
STARTED = time.monotonic()
NOW = datetime.now(UTC)
TEACH = Caller("user", "teach", frozenset({f"formgrade-{COURSE}"}))


def learners(n: int) -> list[str]:
    return [f"u{i:04d}" for i in range(n)]


def score_of(rng: random.Random, login: str, q: int) -> float:
    return float(rng.random() < 0.4 + 0.1 * q)  # later questions easier: spread for the stats


def fill_records(url: str, logins: list[str]) -> int:
    """The course, progress, question scores and a year of checks; returns the check rows."""
    rng = random.Random(12)
    ensure_records_schema(url)
    start = NOW - timedelta(days=365)
    with session_scope(url) as s:
        upsert_people(s, [PersonData(lg, f"受講者{lg[1:]}") for lg in logins])
        s.add(CourseRecord(course_id=COURSE, title="大規模コース"))
        s.flush()
        for a in range(ASSIGNMENTS):
            s.add(CourseAssignment(course_id=COURSE, assignment_id=f"a{a:02d}", title=f"課題{a + 1}",
                                   position=a, due=start + timedelta(days=28 * (a + 1)),
                                   points=QUESTIONS, released=True))  # fmt: skip
        s.flush()
        s.execute(insert(Enrolment), [dict(course_id=COURSE, login=lg, role="learner",
                                           active=True, created_at=NOW, updated_at=NOW)
                                      for lg in logins])  # fmt: skip
        progress, scores, checks = [], [], []
        for a in range(ASSIGNMENTS):
            aid = f"a{a:02d}"
            for lg in logins:
                got = [score_of(rng, lg, q) for q in range(QUESTIONS)]
                progress.append(dict(course_id=COURSE, assignment_id=aid, login=lg,
                                     status=rng.choice(["fetched", "submitted", "graded",
                                                        "feedback"]),
                                     submitted_at=start, attempts=1, late=rng.random() < 0.1,
                                     score=sum(got), max_score=QUESTIONS,
                                     created_at=NOW, updated_at=NOW))  # fmt: skip
                for q in range(QUESTIONS):
                    scores.append(dict(course_id=COURSE, assignment_id=aid, login=lg,
                                       notebook="nb", cell=f"test_q{q + 1}", question=f"q{q + 1}",
                                       position=q, manual=False, score=got[q], max_score=1.0,
                                       needs_manual_grade=False, created_at=NOW,
                                       updated_at=NOW))  # fmt: skip
                    when = start + timedelta(days=28 * a + rng.random() * 28)
                    for _ in range(rng.randint(1, 4)):
                        if rng.random() < 0.3:
                            checks.append(dict(login=lg, course=COURSE, assignment=aid,
                                               question=f"q{q + 1}", kind="hint", result="hint",
                                               hint_level=rng.randint(1, 3), created_at=when))  # fmt: skip
                        checks.append(dict(login=lg, course=COURSE, assignment=aid,
                                           question=f"q{q + 1}", kind="check",
                                           result="pass" if rng.random() < 0.5 else "fail",
                                           hint_level=None, created_at=when))  # fmt: skip
        s.execute(insert(Progress), progress)
        s.execute(insert(QuestionScore), scores)
        s.execute(insert(CheckEvent), checks)
    return len(checks)


def fill_gradebook(root: Path, logins: list[str]):
    """An nbgrader course directory whose gradebook holds the same scores."""
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    rng = random.Random(12)
    url = f"sqlite:///{root}/gradebook.db"
    with Gradebook(url, COURSE) as gb:
        for a in range(ASSIGNMENTS):
            aid = f"a{a:02d}"
            gb.add_assignment(aid, duedate=(NOW - timedelta(days=365 - 28 * (a + 1))))
            gb.add_notebook("nb", aid)
            for q in range(QUESTIONS):
                gb.add_grade_cell(f"test_q{q + 1}", "nb", aid, max_score=1, cell_type="code")
                gb.add_source_cell(f"test_q{q + 1}", "nb", aid, cell_type="code",
                                   source=f'assert_check("q{q + 1}", x)', locked=True,
                                   checksum="x")  # fmt: skip
        for lg in logins:
            gb.add_student(lg, first_name="受講者", last_name=lg)
    bulk_submissions(root / "gradebook.db", logins, rng)
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = url
    config.CourseDirectory.course_id = COURSE
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def bulk_submissions(db: Path, logins: list[str], rng: random.Random) -> None:
    """Submissions and grades written straight into nbgrader's tables (its ORM needs minutes
    for this many); the same rows `Gradebook.add_submission` would write."""
    import sqlite3
    import uuid

    con = sqlite3.connect(db)
    cells = con.execute(
        "SELECT a.name, b.name, b.id FROM base_cell b JOIN grade_cells g ON g.id = b.id "
        "JOIN notebook n ON n.id = b.notebook_id JOIN assignment a ON a.id = n.assignment_id"
    ).fetchall()
    by_assignment: dict[str, dict[str, str]] = {}
    for aname, cname, cid in cells:
        by_assignment.setdefault(aname, {})[cname] = cid
    ids = dict(con.execute("SELECT name, id FROM assignment").fetchall())
    notebooks = dict(con.execute("SELECT assignment_id, id FROM notebook").fetchall())
    subs, nbs, grades = [], [], []
    for a in range(ASSIGNMENTS):
        aid = f"a{a:02d}"
        for lg in logins:
            sid, nid = uuid.uuid4().hex, uuid.uuid4().hex
            subs.append((sid, ids[aid], lg, NOW.replace(tzinfo=None).isoformat(" "), None))
            nbs.append((nid, sid, notebooks[ids[aid]], False, 0.0))
            for q in range(QUESTIONS):
                cell = by_assignment[aid][f"test_q{q + 1}"]
                grades.append((uuid.uuid4().hex, nid, cell, score_of(rng, lg, q), None, None,
                               False))  # fmt: skip
    with con:
        con.executemany("INSERT INTO submitted_assignment VALUES (?, ?, ?, ?, ?)", subs)
        con.executemany("INSERT INTO submitted_notebook VALUES (?, ?, ?, ?, ?)", nbs)
        con.executemany("INSERT INTO grade VALUES (?, ?, ?, ?, ?, ?, ?)", grades)
    con.close()


def timed(fn, label: str) -> list[float]:
    fn()  # warm-up
    found = []
    for _ in range(REPEAT):
        if time.monotonic() - STARTED > DEADLINE:
            print(f"  {label}: stopped at the deadline after {len(found)} runs")
            break
        began = time.perf_counter()
        fn()
        found.append((time.perf_counter() - began) * 1000)
    return found


def p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> tuple[float, float]:
    p50, p95 = statistics.median(values), p(values, 0.95)
    print(f"  {label:<44} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   ({len(values)} runs)")
    return p50, p95


def dashboard_timings(url: str, tmp: Path, label: str) -> dict[str, tuple[float, float]]:
    config = SiteConfig.model_validate(
        {"hub": {"prefix": str(tmp / "prefix"), "state_dir": str(tmp / f"state-{label}")}}
    )
    pages = Pages(config, RecordsEvents(config, url))
    html = pages.course_page(TEACH, COURSE, "a12")
    assert html and html.count('data-learner="') == LEARNERS, "dashboard incomplete"
    return {
        f"dashboard ({label}), latest assignment": line(
            f"Sunaba dashboard ({label})",
            timed(lambda: pages.course_page(TEACH, COURSE, "a12"), label),
        ),
    }


def postgres_url() -> str | None:
    try:
        from tests.support.postgres import create_database, new_database_name

        name = new_database_name()
        return name, create_database(name)
    except Exception as exc:  # noqa: BLE001 - optional second backend
        print(f"  PostgreSQL not used: {exc}")
        return None


LEARNERS = int(sys.argv[1]) if len(sys.argv) > 1 else 500


def main() -> int:
    logins = learners(LEARNERS)
    with tempfile.TemporaryDirectory(prefix="sunaba-bench-dash-") as name:
        tmp = Path(name)
        began = time.monotonic()
        count = fill_records(f"sqlite:///{tmp}/records.sqlite", logins)
        print(f"{LEARNERS} learners × {ASSIGNMENTS} assignments × {QUESTIONS} questions, "
              f"{count} check records over a year (records written in "
              f"{time.monotonic() - began:.0f} s)")  # fmt: skip
        began = time.monotonic()
        api = fill_gradebook(tmp, logins)
        print(f"nbgrader gradebook written in {time.monotonic() - began:.0f} s")
        results = dashboard_timings(f"sqlite:///{tmp}/records.sqlite", tmp, "SQLite")
        pg = postgres_url()
        if pg is not None:
            from tests.support.postgres import drop_database

            try:
                fill_records(pg[1], logins)
                results.update(dashboard_timings(pg[1], tmp, "PostgreSQL"))
            finally:
                drop_database(pg[0])
        students = line("formgrader gradebook: get_students()", timed(api.get_students, "fg"))
        notebook = line(
            "formgrader gradebook: get_notebook_submissions()",
            timed(lambda: api.get_notebook_submissions("a12", "nb"), "fg-nb"),
        )
    print("ratios (formgrader / Sunaba dashboard; above 1: the dashboard is faster):")
    for label, (p50, p95) in results.items():
        for other, (o50, o95) in (("get_students", students), ("notebook", notebook)):
            print(f"  {label} vs {other}: p50 {o50 / p50:.2f}×  p95 {o95 / p95:.2f}×")
        print(f"  {label}: p95 {'<' if p95 < 300 else '>='} 300 ms target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
