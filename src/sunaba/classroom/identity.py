"""Who is calling the exchange, and what they may do in a course.

Identity and group membership come from the hub on every request (the whoami model of the
caller's token always carries its name and groups); nothing the caller sends in the request
body, an environment variable or a path is trusted for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sunaba.core.layout import FORMGRADER_SERVICE, GRADER_GROUP, LEARNER_GROUP


@dataclass(frozen=True)
class Caller:
    kind: str  # "user" or "service"
    name: str
    groups: frozenset[str]
    admin: bool = False  # a hub admin: may read every course's pages (never acts as staff)

    @classmethod
    def from_model(cls, model: dict) -> Caller:
        kind = model.get("kind", "user")
        return cls(
            kind=kind,
            name=model["name"],
            groups=frozenset(model.get("groups") or ()),
            admin=kind == "user" and model.get("admin") is True,
        )

    def may_read_course(self, course: str) -> bool:
        """The course's records pages (dashboard, exports): its staff, and hub admins."""
        return self.is_staff(course) or (self.is_user and self.admin)

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    def is_learner(self, course: str) -> bool:
        return self.is_user and LEARNER_GROUP.format(course) in self.groups

    def is_staff(self, course: str) -> bool:
        """Graders and instructors (group `formgrade-<id>`), and the course's formgrader."""
        if self.kind == "service":
            return self.name == FORMGRADER_SERVICE.format(course)
        return GRADER_GROUP.format(course) in self.groups

    def courses(self, known: list[str]) -> list[str]:
        """The known courses this caller belongs to, as learner or staff."""
        return [c for c in known if self.is_learner(c) or self.is_staff(c)]
