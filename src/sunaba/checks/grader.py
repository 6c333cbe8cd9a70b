"""Grader files: `graders/<course>/<assignment>.py`, one `Question` per checked answer.

A grader file is instructor code that only the hub side runs (the check service, and while
autograding the judge outside the grading sandbox, `sunaba.checks.judge_service`; learners'
kernels never see it). It defines `QUESTIONS`, a list such as::

    from sunaba.checks.grader import Question

    QUESTIONS = [
        Question("q1", expected=lambda: 47, hints=["都道府県の数です", "len(df) を使います"]),
        Question("q2", expected=population_by_region, rel_tol=1e-6, ignore_index=True),
    ]

`expected` is computed once per process (it may load datasets); `check`, when given, replaces
the standard comparison: `check(answer) -> Verdict`.

Typical wrong answers are kept beside the question as data, each with the message that teaches
what went wrong::

    Question(
        "q2",
        expected=rate_per_100k,
        hints=[...],
        mistakes=[
            Mistake("人数のままです。人口で割って 10万人あたりにしましょう", example=counts),
            Mistake("100 倍ずれています。…", example=lambda: rate_per_100k() * 100),
        ],
    )

`snippets` lists the code the notebook or a hint suggests for the question, each one Python
expression over the names the notebook's setup cells define (`read_csv_ja(PATH, dtype=...)`).
The content tests evaluate every snippet after those cells and require it to pass, so that
following the notebook's own advice never fails its check.

A wrong answer that matches a mistake's `example` (judged with the question's tolerance), or
that its `matches(answer)` recognises, gets that message first; of the general ones only those that add
something (which rows, which columns) follow, never a bare "the number differs". The content
tests feed every example to its question and expect its message.

With `caller=True`, `check(answer, caller)` also learns who asks: in the check service a `Caller`
(the hub login and the records database, to confirm what the learner did elsewhere in Sunaba,
such as publishing in the showcase); `None` where nobody is known (the autograder, tests).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.checks.judge import BARE_MESSAGES, Tolerance, Verdict, judge

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
QUESTION = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


@dataclass(frozen=True)
class Caller:
    """Who asks for a check: the hub login, and the records database the service writes to."""

    login: str
    engine: object | None = None


class GraderError(LookupError):
    """No such course, assignment or question; the message is Japanese."""


@dataclass
class Mistake:
    """A typical wrong answer: `example()` builds it, `message` is what the learner reads.

    `matches(answer) -> bool`, when given, recognises a whole family of such answers (any count
    instead of a rate, say); otherwise an answer matches when it judges equal to the example.
    """

    message: str
    example: Callable[[], object]
    matches: Callable[[object], bool] | None = None

    def __post_init__(self):
        self._lock = threading.Lock()
        self._cached: tuple[object] | None = None

    def example_value(self) -> object:
        with self._lock:
            if self._cached is None:
                self._cached = (self.example(),)
            return self._cached[0]

    def recognises(self, answer, tolerance: Tolerance) -> bool:
        try:
            if self.matches is not None:
                return bool(self.matches(answer))
            return judge(answer, self.example_value(), tolerance).ok
        except Exception:  # a learner's odd answer must never break the check
            return False


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
    mistakes: list[Mistake] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    caller: bool = False

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

    def judge(self, answer, caller: Caller | None = None) -> Verdict:
        if self.check is not None:
            verdict = self.check(answer, caller) if self.caller else self.check(answer)
        else:
            verdict = judge(answer, self.expected_value(), self.tolerance)
        if verdict.ok:
            return verdict
        for mistake in self.mistakes:
            if mistake.recognises(answer, self.tolerance):
                general = [
                    m for m in verdict.messages if m != mistake.message and m not in BARE_MESSAGES
                ]
                return Verdict.failed(mistake.message, *general)
        return verdict

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
