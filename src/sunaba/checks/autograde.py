"""The same checks inside nbgrader autograder cells: `assert_check("q1", answer)`.

In a grading sandbox the graders are out of the kernel's reach: the autograder names a judge's
socket in `SUNABA_JUDGE_SOCKET`, and the answer goes there as data (see
`sunaba.checks.judge_service`), which judges it with the very question object the check service
uses, so instant feedback and grades never disagree. The judge also records the verdict for the
scorer: what this function returns or raises in the kernel does not decide the grade.

Elsewhere (an instructor's own tests, a grading pod), the graders directory can be named with
`SUNABA_GRADERS_DIR`, with `SUNABA_CHECK_COURSE` and `SUNABA_CHECK_ASSIGNMENT` (or `course=`
and `assignment=`), and the judgement is made here.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sunaba.checks.grader import GraderDirectory
from sunaba.checks.judge import Verdict
from sunaba.checks.judge_service import SOCKET_ENV, JudgeUnavailable, ask
from sunaba.checks.wire import decode_answer, encode_answer

GRADERS_ENV = "SUNABA_GRADERS_DIR"
COURSE_ENV = "SUNABA_CHECK_COURSE"
ASSIGNMENT_ENV = "SUNABA_CHECK_ASSIGNMENT"


@cache
def _graders(root: str) -> GraderDirectory:
    return GraderDirectory(Path(root))


def verdict(question: str, answer, *, course: str | None = None, assignment: str | None = None):
    """The judgement the check service would give: from the autograder's judge when there is
    one (which course and assignment is then the judge's to know), else with the graders."""
    judge_socket = os.environ.get(SOCKET_ENV)
    if judge_socket:
        reply = ask(judge_socket, question, encode_answer(answer))
        return Verdict(reply["ok"], reply["messages"])
    root = os.environ.get(GRADERS_ENV)
    course = course or os.environ.get(COURSE_ENV)
    assignment = assignment or os.environ.get(ASSIGNMENT_ENV)
    if not (root and course and assignment):
        raise RuntimeError(
            f"assert_check needs {SOCKET_ENV} or {GRADERS_ENV}, {COURSE_ENV} and "
            f"{ASSIGNMENT_ENV} (set by the autograder) or course= and assignment="
        )
    # Through the wire format, exactly as an instant check would see the answer.
    value = decode_answer(encode_answer(answer))
    return _graders(root).question(course, assignment, question).judge(value)


def assert_check(question: str, answer, **where) -> None:
    """Raise AssertionError with the Japanese explanation when `answer` is wrong."""
    try:
        judged = verdict(question, answer, **where)
    except JudgeUnavailable as exc:
        raise AssertionError(f"{question}: {exc}") from None
    if not judged.ok:
        raise AssertionError(f"{question}: " + " / ".join(judged.messages))
