"""Writing people into the records database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunaba.records.models import Person


@dataclass(frozen=True)
class PersonData:
    login: str
    display_name: str = ""
    email: str | None = None
    department: str = ""


def upsert_people(session: Session, people: Iterable[PersonData]) -> tuple[list[str], list[str]]:
    """Insert new people and update changed ones in `session` (flushed, not committed).

    Empty display name, email or department in the input leave the stored value alone, so a
    roster without an 所属 column does not wipe departments. Returns (created, updated) logins;
    unchanged people are in neither list.
    """
    people = list(people)
    logins = [p.login for p in people]
    existing = {
        person.login: person
        for person in session.scalars(select(Person).where(Person.login.in_(logins)))
    }
    created: list[str] = []
    updated: list[str] = []
    for data in people:
        person = existing.get(data.login)
        if person is None:
            person = Person(
                login=data.login,
                display_name=data.display_name,
                email=data.email or None,
                department=data.department,
            )
            session.add(person)
            existing[data.login] = person
            created.append(data.login)
            continue
        changed = False
        for field, value in (
            ("display_name", data.display_name),
            ("email", data.email),
            ("department", data.department),
        ):
            if value and getattr(person, field) != value:
                setattr(person, field, value)
                changed = True
        if changed:
            updated.append(data.login)
    session.flush()
    return created, updated
