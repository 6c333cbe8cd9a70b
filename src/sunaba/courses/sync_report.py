"""What `sunaba courses sync` reports: per course what changed or why it did not sync, and
notes on the run as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field

from sunaba.config.problems import Problem


@dataclass
class SyncReport:
    changes: dict[str, list[str]] = field(default_factory=dict)  # course -> what changed
    problems: dict[str, list[Problem]] = field(default_factory=dict)
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
