"""Grader files: `graders/<course>/<assignment>.py`, one `Question` per checked answer.

A grader file is instructor code that only the hub side runs (the check service, and the
autograder with graders mounted read-only). It defines `QUESTIONS`, a list such as::

    from sunaba.checks.grader import Question

    QUESTIONS = [
        Question("q1", expected=lambda: 47, hints=["都道府県の数です", "len(df) を使います"]),
        Question("q2", expected=population_by_region, rel_tol=1e-6, ignore_index=True),
    ]

`expected` is computed once per process (it may load datasets); `check`, when given, replaces
the standard comparison: `check(answer) -> Verdict`.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.checks.judge import Tolerance, Verdict, judge

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
QUESTION = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class GraderError(LookupError):
    """No such course, assignment or question; the message is Japanese."""


@dataclass
class Question:
    id: str
    expected: Callable[[], object] | None = None
    hints: list[str] = field(default_factory=list)
    check: Callable[[object], Verdict] | None = None
    rel_tol: float = 1e-9
    abs_tol: float = 0.0
    ignore_index: bool = False
    ignore_order: bool = False
    check_dtype: bool = True

    def __post_init__(self):
        if (self.expected is None) == (self.check is None):
            raise ValueError(f"question {self.id}: give exactly one of expected= or check=")
        self._lock = threading.Lock()
        self._cached: tuple[object] | None = None

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(
            self.rel_tol, self.abs_tol, self.ignore_index, self.ignore_order, self.check_dtype
        )

    def expected_value(self) -> object:
        with self._lock:
            if self._cached is None:
                self._cached = (self.expected(),)
            return self._cached[0]

    def judge(self, answer) -> Verdict:
        if self.check is not None:
            return self.check(answer)
        return judge(answer, self.expected_value(), self.tolerance)

    def hint(self, level: int) -> str | None:
        """The hint number `level` (1-based); past the last one, the last one again."""
        if not self.hints:
            return None
        return self.hints[min(level, len(self.hints)) - 1]


class GraderDirectory:
    """Grader files under one root, loaded once per file (reloaded when the file changes)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._loaded: dict[Path, tuple[float, dict[str, Question]]] = {}
        self._lock = threading.Lock()

    def courses(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name))

    def assignments(self, course: str) -> list[str]:
        folder = self.root / course
        if not NAME.match(course) or not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.py") if NAME.match(p.stem))

    def questions(self, course: str, assignment: str) -> dict[str, Question]:
        if not (NAME.match(course) and NAME.match(assignment)):
            raise GraderError("コース名か課題名の形が正しくありません")
        path = self.root / course / f"{assignment}.py"
        if not path.is_file():
            raise GraderError(f"課題「{course}/{assignment}」には確認できる問題がありません")
        mtime = path.stat().st_mtime
        with self._lock:
            cached = self._loaded.get(path)
            if cached is None or cached[0] != mtime:
                cached = (mtime, _load(path, course, assignment))
                self._loaded[path] = cached
        return cached[1]

    def question(self, course: str, assignment: str, question: str) -> Question:
        if not QUESTION.match(question or ""):
            raise GraderError('問題の名前の形が正しくありません（例: "q1"）')
        found = self.questions(course, assignment).get(question)
        if found is None:
            raise GraderError(f"課題「{assignment}」に問題「{question}」はありません")
        return found


def _load(path: Path, course: str, assignment: str) -> dict[str, Question]:
    name = f"sunaba_graders.{course.replace('-', '_')}.{assignment.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    questions = getattr(module, "QUESTIONS", None)
    if not isinstance(questions, list) or not all(isinstance(q, Question) for q in questions):
        raise ValueError(f"{path}: QUESTIONS must be a list of sunaba.checks.grader.Question")
    return {q.id: q for q in questions}
