"""With `grading.backend: kubernetes`, the course's grading steps run as the hub's own user,
without setuid and without root (the hub pod runs as uid 1000): here as `nobody` when the tests
run as root. A real nbgrader worker runs; no cluster is needed for these steps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.pod_grading import container_preexec, unprivileged

PREFIX = str(Path(sys.executable).parents[2])
SCRIPT = """
import json, sys
from sunaba.config.loader import validate
from sunaba.grading.runner import run_step
config = validate(json.loads(sys.argv[1]), "test")
run_step(config, "kiso", "setup", files={"nbgrader_config.json": {"CourseDirectory": {"course_id": "kiso"}}})
print(json.dumps(run_step(config, "kiso", "submitted", assignment="hw1")))
"""


def test_steps_run_unprivileged_as_the_hub_user():
    base = Path(tempfile.mkdtemp(prefix="sunaba-hub-steps-"))
    try:
        account = unprivileged()
        if account is not None:
            os.chown(base, account.pw_uid, account.pw_gid)
        site = {
            "hub": {"prefix": PREFIX, "state_dir": str(base / "state")},
            "grading": {"backend": "kubernetes"},
        }
        completed = subprocess.run(
            [sys.executable, "-c", SCRIPT, json.dumps(site)],
            capture_output=True,
            text=True,
            cwd=base,
            env={"PATH": "/usr/bin:/bin", "HOME": str(base), "LANG": "C.UTF-8"},
            preexec_fn=container_preexec(),
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        assert json.loads(completed.stdout.splitlines()[-1]) == []
        course = base / "state-courses" / "kiso"
        assert (course / "nbgrader_config.json").is_file()
        assert {p.name for p in course.iterdir()} >= {"source", "submitted", "autograded"}
        # The copy the courses' nbgrader config names, where the hub's user may write it.
        portable = base / "state" / "grading-portable" / "sunaba_portable" / "grading"
        assert (portable / "worker.py").is_file()
        if account is not None:
            assert course.stat().st_uid == account.pw_uid
    finally:
        shutil.rmtree(base, ignore_errors=True)
