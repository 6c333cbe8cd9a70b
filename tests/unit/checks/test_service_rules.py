"""The service's own rules: which course a call belongs to, and the per-user rate limit."""

from __future__ import annotations

import pytest
from tornado import web

from sunaba.checks.grader import GraderDirectory
from sunaba.checks.service import Checks, RateLimiter
from sunaba.config.schema import SiteConfig
from tests.support.checks import ASSIGNMENT, COURSE, write_graders


@pytest.fixture
def checks(tmp_path) -> Checks:
    graders = write_graders(tmp_path / "graders")
    (graders / "other-course").mkdir()
    (graders / "other-course" / ASSIGNMENT).with_suffix(".py").write_text("QUESTIONS = []\n")
    config = SiteConfig.model_validate({"hub": {"state_dir": str(tmp_path / "state")}})
    return Checks(config, GraderDirectory(graders), f"sqlite:///{tmp_path}/records.sqlite")


LEARNER = frozenset({f"nbgrader-{COURSE}"})


def test_course_from_the_notebook_path(checks):
    for notebook in (
        f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        f"/home/x/{COURSE}/{ASSIGNMENT}/work/answers.ipynb",
        f"{ASSIGNMENT}/copy.ipynb",  # one course of the learner has this assignment
    ):
        assert checks.resolve(LEARNER, {"notebook": notebook}) == (COURSE, ASSIGNMENT)


def test_path_of_a_course_the_caller_is_not_in_is_ignored(checks):
    # The learner's own course has an assignment of that name: the call is judged there.
    notebook = f"other-course/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    assert checks.resolve(LEARNER, {"notebook": notebook}) == (COURSE, ASSIGNMENT)
    with pytest.raises(web.HTTPError) as caught:
        checks.resolve(LEARNER, {"notebook": "other-course/ex99/x.ipynb"})
    assert caught.value.status_code == 400


def test_ambiguous_or_unknown_asks_for_set_exercise(checks):
    both = LEARNER | {"formgrade-other-course"}
    with pytest.raises(web.HTTPError) as caught:
        checks.resolve(both, {"notebook": f"{ASSIGNMENT}/x.ipynb"})
    assert caught.value.status_code == 400 and "set_exercise" in caught.value.log_message
    with pytest.raises(web.HTTPError) as caught:
        checks.resolve(LEARNER, {"notebook": "notes.ipynb"})
    assert "set_exercise" in caught.value.log_message


def test_explicit_course_needs_membership(checks):
    assert checks.resolve(LEARNER, {"course": COURSE, "assignment": ASSIGNMENT}) == (
        COURSE,
        ASSIGNMENT,
    )
    with pytest.raises(web.HTTPError) as caught:
        checks.resolve(LEARNER, {"course": "other-course", "assignment": ASSIGNMENT})
    assert caught.value.status_code == 403
    with pytest.raises(web.HTTPError) as caught:
        checks.resolve(frozenset(), {"notebook": f"{COURSE}/{ASSIGNMENT}/a.ipynb"})
    assert caught.value.status_code == 403


def test_rate_limit_is_per_user_and_slides():
    limiter = RateLimiter(3, window=0.2)
    assert [limiter.wait_time("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_time("a") > 0
    assert limiter.wait_time("b") == 0.0
    import time

    time.sleep(0.25)
    assert limiter.wait_time("a") == 0.0
