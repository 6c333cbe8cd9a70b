"""Who a course enrols: listed users, members of roster groups (read from the hub's database
when the hub is not running) and everyone of a listed 所属."""

from __future__ import annotations

from jupyterhub import orm

from sunaba.config.loader import validate
from sunaba.core.state import StatePaths
from sunaba.courses.enrolment import enrolled_learners, hub_group_members
from sunaba.courses.model import parse_course
from sunaba.records.db import ensure_records_schema, session_scope
from sunaba.records.people import PersonData, upsert_people


def test_users_groups_and_departments(tmp_path):
    config = validate({"hub": {"state_dir": str(tmp_path)}}, "test")
    session = orm.new_session_factory(StatePaths.from_config(config).hub_db_url(config))()
    group = orm.Group(name="roster-2025")
    session.add(group)
    for name in ("mei", "ken"):
        user = orm.User(name=name)
        session.add(user)
        group.users.append(user)
    session.commit()
    session.close()

    members = hub_group_members(config, ["roster-2025", "missing"])
    assert members == {"roster-2025": {"mei", "ken"}, "missing": set()}

    url = f"sqlite:///{tmp_path}/records.sqlite"
    ensure_records_schema(url)
    course = parse_course(
        {
            "id": "kiso",
            "title": {"ja": "基礎"},
            "instructors": ["teach"],
            "enrolment": {
                "users": ["ann"],
                "groups": ["roster-2025"],
                "departments": ["企画課"],
            },
        },
        "test",
    )
    with session_scope(url) as records:
        upsert_people(
            records,
            [PersonData("yui", department="企画課"), PersonData("ryo", department="税務課")],
        )
    with session_scope(url) as records:
        assert enrolled_learners(course, records, members) == {"ann", "mei", "ken", "yui"}
