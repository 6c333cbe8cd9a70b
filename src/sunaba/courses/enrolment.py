"""Who a course file enrols: its listed users, the members of its hub groups and the people of
its departments in the records database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.config.schema import SiteConfig
from sunaba.core.state import StatePaths
from sunaba.courses.model import Course
from sunaba.records.models import Person


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
