"""Who is calling the exchange, and what they may do in a course.

Identity and group membership come from the hub on every request (the whoami model of the
caller's token always carries its name and groups); nothing the caller sends in the request
body, an environment variable or a path is trusted for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sunaba.courses.layout import FORMGRADER_SERVICE, GRADER_GROUP, LEARNER_GROUP


@dataclass(frozen=True)
class Caller:
    kind: str  # "user" or "service"
    name: str
    groups: frozenset[str]

    @classmethod
    def from_model(cls, model: dict) -> Caller:
        return cls(
            kind=model.get("kind", "user"),
            name=model["name"],
            groups=frozenset(model.get("groups") or ()),
        )

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
