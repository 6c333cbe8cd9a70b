"""A run of `sunaba up` keeps everything it starts in one group: a stop ends all of it, also what
JupyterHub started in sessions of its own, and the next start ends what a killed run left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sunaba.runtime.rungroup import AlreadyRunning, RunGroup

# A stand-in for `sunaba up` (a script named `sunaba`, run with `up` as the real one is): joins
# the group, starts a "service" in a session of its own (as JupyterHub starts its proxy and
# services), prints the service's pid and waits.
RUN = textwrap.dedent(
    """
    import subprocess, sys, time
    from sunaba.runtime.rungroup import RunGroup
    RunGroup(sys.argv[1]).join()
    service = subprocess.Popen(["sleep", "600"], start_new_session=True)
    print(service.pid, flush=True)
    time.sleep(600)
    """
)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def state_dir(tmp_path):
    yield str(tmp_path / "sunaba-test-rungroup-state")
    group = RunGroup(str(tmp_path / "sunaba-test-rungroup-state"))
    group.end(grace=0.5)
    group.remove()


def start_run(state_dir: str) -> tuple[subprocess.Popen, int]:
    script = os.path.join(os.path.dirname(state_dir), "sunaba")
    with open(script, "w") as handle:
        handle.write(RUN)
    run = subprocess.Popen(
        [sys.executable, script, state_dir, "up"], stdout=subprocess.PIPE, text=True
    )
    return run, int(run.stdout.readline())


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are writable by root only")
def test_a_start_ends_what_a_killed_run_left_in_sessions_of_their_own(state_dir):
    run, service = start_run(state_dir)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert alive(service), "the service must outlive the killed run for this test to mean anything"
    assert RunGroup(state_dir).end_leftovers() == 1
    deadline = time.monotonic() + 5
    while alive(service) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(service)


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are writable by root only")
def test_a_second_start_on_the_same_state_dir_is_refused_while_the_first_runs(state_dir):
    run, service = start_run(state_dir)
    try:
        with pytest.raises(AlreadyRunning, match="すでに動いています"):
            RunGroup(state_dir).end_leftovers()
        assert alive(service)
    finally:
        run.kill()
        run.wait()


def test_another_state_dir_is_another_group(tmp_path):
    one = RunGroup(str(tmp_path / "a"))
    two = RunGroup(str(tmp_path / "b"))
    assert one.directory is None or one.directory != two.directory
