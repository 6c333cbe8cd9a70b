"""A course added while the hub runs gets its formgrader at once (the sync has the hub reload,
and learners' servers and kernels keep running through it); a course whose file is removed is
retired (nobody sees it any more, its work and grades stay) and comes back with its file."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from sqlalchemy import select

from sunaba.courses.records import CourseRecord, Enrolment
from sunaba.exchange.store import ExchangeStore
from sunaba.records.db import default_records_url, session_scope

pytestmark = pytest.mark.integration

COURSE = "shinki"
FORMGRADER = f"formgrader-{COURSE}"


def formgrader_status(world, person) -> int:
    response = requests.get(
        f"{world.hub.url}/services/{FORMGRADER}/formgrader/manage_assignments",
        headers={"Authorization": f"token {person.token}"},
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code


def course_ids(world, person) -> set[str]:
    listing = world.lab(person, "GET", "assignments", course_id="")
    return {item["course_id"] for item in listing["value"]}


def hub_services(world) -> set[str]:
    return set(world.hub.api("GET", "/services").json())


async def sync_under_an_open_notebook(world, learner, kernel: str):
    """Sync while the learner's kernel websocket is open, then run a cell over that same
    websocket: (the sync's report, the cell's outcome)."""
    socket = await world.hub.kernel_socket(learner, kernel)
    try:
        started = time.monotonic()
        report = await asyncio.to_thread(world.sync)
        print(f"\nsync with a hub reload: {time.monotonic() - started:.1f} s")
        return report, await world.hub.execute_on(
            socket, learner, "print(before_the_reload + 1)", 60
        )
    finally:
        socket.close()


def members(world, group: str) -> set[str]:
    return set(world.hub.api("GET", f"/groups/{group}").json()["users"])


def enrolments(world) -> dict[str, bool]:
    with session_scope(default_records_url(world.config)) as session:
        rows = session.scalars(select(Enrolment).where(Enrolment.course_id == COURSE))
        return {f"{row.role}:{row.login}": row.active for row in rows}


def course_active(world) -> bool:
    with session_scope(default_records_url(world.config)) as session:
        return session.get(CourseRecord, COURSE).active


def test_course_added_while_running_then_removed_and_restored(sqlite_world):
    world = sqlite_world
    cat = world.learner("cat")
    staff = world.learner("teach3", spawn=False)
    course_file = world.add_small_course(COURSE, "新設コース", "新設1")
    text = course_file.read_text(encoding="utf-8")
    kernel = world.hub.start_kernel(cat)
    world.hub.execute(cat, kernel, "before_the_reload = 41")
    try:
        report, reply = asyncio.run(sync_under_an_open_notebook(world, cat, kernel))
        assert report.ok, report.lines()
        assert f"採点画面を起動しました: {FORMGRADER}" in report.notes, report.lines()
        assert any("ハブを再起動して" in note for note in report.notes), report.lines()
        assert FORMGRADER in hub_services(world)
        # The learner's notebook kept its connection to its kernel through the reload.
        assert reply["status"] == "ok" and reply["stdout"].strip() == "42", reply
        # Its staff open it; a learner of the course does not.
        assert formgrader_status(world, staff) == 200, world.hub.log_tail(40)
        assert formgrader_status(world, cat) == 403
        assert COURSE in course_ids(world, cat)
        attempts = world.submitted(cat, COURSE, "s1")

        again = world.sync()
        assert COURSE not in again.changes, again.lines()
        assert not [n for n in again.notes if "採点画面" in n], again.notes

        course_file.unlink()
        retired = world.sync()
        assert retired.ok, retired.lines()
        assert any("コースを終了しました" in line for line in retired.changes[COURSE])
        assert f"採点画面を停止しました: {FORMGRADER}" in retired.notes, retired.lines()
        assert FORMGRADER not in hub_services(world)
        assert members(world, f"nbgrader-{COURSE}") == set()
        assert COURSE not in course_ids(world, cat)
        denied = world.exchange(cat.token, "GET", f"api/courses/{COURSE}/assignments/s1")
        assert denied.status_code in (403, 404), denied.text
        # Nothing was deleted: every attempt and the records stay, marked as ended.
        store = ExchangeStore(world.hub.state_dir / "exchange")
        assert [s.stamp for s in store.submissions(COURSE, "cat", "s1")] == [
            s.stamp for s in attempts
        ]
        assert enrolments(world) == {"learner:cat": False, "instructor:teach3": False}
        assert course_active(world) is False
        # The other courses are untouched.
        assert "kiso" in course_ids(world, cat) or "oyo" in course_ids(world, cat)

        quiet = world.sync()
        assert COURSE not in quiet.changes and not [n for n in quiet.notes if "採点画面" in n]

        course_file.write_text(text, encoding="utf-8")
        back = world.sync()
        assert f"採点画面を起動しました: {FORMGRADER}" in back.notes, back.lines()
        assert COURSE in course_ids(world, cat)
        assert formgrader_status(world, staff) == 200
        assert enrolments(world) == {"learner:cat": True, "instructor:teach3": True}
        assert course_active(world) is True
    finally:
        course_file.unlink(missing_ok=True)
        world.sync()
