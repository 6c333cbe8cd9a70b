"""The same checks inside nbgrader autograder cells: `assert_check("q1", answer)`.

The autograder runs with the graders directory mounted read-only and tells where it is, and
which course and assignment are graded, through the environment (`SUNABA_GRADERS_DIR`,
`SUNABA_CHECK_COURSE`, `SUNABA_CHECK_ASSIGNMENT`). The verdict comes from the very question
object the check service uses, so instant feedback and grades never disagree.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sunaba.checks.grader import GraderDirectory
from sunaba.checks.wire import decode_answer, encode_answer

GRADERS_ENV = "SUNABA_GRADERS_DIR"
COURSE_ENV = "SUNABA_CHECK_COURSE"
ASSIGNMENT_ENV = "SUNABA_CHECK_ASSIGNMENT"


@cache
def _graders(root: str) -> GraderDirectory:
    return GraderDirectory(Path(root))


def verdict(question: str, answer, *, course: str | None = None, assignment: str | None = None):
    """The judgement the check service would give, made here with the mounted graders."""
    root = os.environ.get(GRADERS_ENV)
    course = course or os.environ.get(COURSE_ENV)
    assignment = assignment or os.environ.get(ASSIGNMENT_ENV)
    if not (root and course and assignment):
        raise RuntimeError(
            f"assert_check needs {GRADERS_ENV}, {COURSE_ENV} and {ASSIGNMENT_ENV} "
            "(set by the autograder) or course= and assignment="
        )
    # Through the wire format, exactly as an instant check would see the answer.
    value = decode_answer(encode_answer(answer))
    return _graders(root).question(course, assignment, question).judge(value)


def assert_check(question: str, answer, **where) -> None:
    """Raise AssertionError with the Japanese explanation when `answer` is wrong."""
    judged = verdict(question, answer, **where)
    if not judged.ok:
        raise AssertionError(f"{question}: " + " / ".join(judged.messages))
