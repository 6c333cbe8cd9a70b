"""Changing who is in a course: access follows at once, work and grades stay."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sunaba.courses.records import Enrolment
from sunaba.exchange.store import ExchangeStore
from sunaba.records.db import default_records_url, session_scope

pytestmark = pytest.mark.integration


def members(world, group: str) -> set[str]:
    return set(world.hub.api("GET", f"/groups/{group}").json()["users"])


def test_removed_learner_loses_access_but_keeps_work(sqlite_world):
    world = sqlite_world
    dee = world.learner("dee")
    attempts = world.submitted(dee, "kiso", "hw1")
    # Someone a roster import put in the course group is not the course file's to remove.
    world.hub.api("POST", "/users", json={"usernames": ["eve"]})
    world.hub.api("POST", "/groups/nbgrader-kiso/users", json={"users": ["eve"]})

    path = world.courses / "kiso" / "course.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("  - dee\n", ""), encoding="utf-8")
    try:
        report = world.sync()
        assert "登録解除（提出物と成績は残ります）: learner:dee" in report.changes["kiso"]
        assert members(world, "nbgrader-kiso") == {"ann", "bob", "eve"}

        # Checked on every call: no restart, no new token.
        denied = world.exchange(dee.token, "GET", "api/courses/kiso/submissions")
        assert denied.status_code == 403
        listing = world.lab(dee, "GET", "assignments", course_id="")
        assert "kiso" not in {i["course_id"] for i in listing["value"]}

        store = ExchangeStore(world.hub.state_dir / "exchange")
        assert [s.stamp for s in store.submissions("kiso", "dee", "hw1")] == [
            s.stamp for s in attempts
        ]
        assert any(name.startswith("dee/") for name in store.latest_files("kiso", "hw1"))
        with session_scope(default_records_url(world.config)) as session:
            row = session.scalars(
                select(Enrolment).where(
                    Enrolment.course_id == "kiso",
                    Enrolment.login == "dee",
                    Enrolment.role == "learner",
                )
            ).one()
            assert row.active is False
    finally:
        path.write_text(good, encoding="utf-8")
        report = world.sync()
    assert members(world, "nbgrader-kiso") == {"ann", "bob", "dee", "eve"}
    assert world.exchange(dee.token, "GET", "api/courses/kiso/submissions").status_code == 200
    world.hub.api("DELETE", "/groups/nbgrader-kiso/users", json={"users": ["eve"]})
