"""What is wrong in a file a person wrote (the site config, a course file), and where: one type
for every such report, so each is shown the same way (`<file>: <key path>: <message>`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong: the file (or what stands for it), the key path in it, and what was
    expected, in words for the person who fixes it."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}"


class ProblemsError(Exception):
    """Something could not be read or done; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
