"""One hub with two synced courses and a grader for kiso/hw1, shared by every drill here. Drills
run in file-name order and each leaves the hub running; the last one (test_up_interrupted) adds a
third course and stops, kills and starts `sunaba up` again."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.checks import GRADER
from tests.support.courses import CourseWorld, start_course_world, stop_course_world

GRADED_COURSE = "kiso"
GRADED_ASSIGNMENT = "hw1"


@pytest.fixture(scope="package")
def world(artifacts) -> CourseWorld:
    if os.geteuid() != 0:
        pytest.fail("fault drills create Unix accounts: run them as root (make test)")
    graders = Path(tempfile.mkdtemp(prefix="sunaba-test-graders-"))
    (graders / GRADED_COURSE).mkdir()
    (graders / GRADED_COURSE / f"{GRADED_ASSIGNMENT}.py").write_text(GRADER, encoding="utf-8")
    found = None
    try:
        found = start_course_world("sqlite", {"checks": {"graders": str(graders)}})
        yield found
    finally:
        if found is not None:
            (artifacts / "faults-hub.log").write_text(found.hub.log_tail(3000), encoding="utf-8")
            stop_course_world(found)
        shutil.rmtree(graders, ignore_errors=True)
