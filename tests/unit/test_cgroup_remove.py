"""Removing a sandbox's cgroup waits out a group that is still busy (cgroup v1's EBUSY).

A plain directory stands in for the group: its `cgroup.procs` file makes rmdir fail the way
a group with exiting tasks does, until the file goes.
"""

from __future__ import annotations

import threading

from sunaba.sandbox.limits import CgroupGroup


def _busy_group(tmp_path) -> tuple[CgroupGroup, object]:
    group = CgroupGroup("sunaba-grading", "1-0", "v2", root=tmp_path)
    group.dirs[0].mkdir(parents=True)
    procs = group.dirs[0] / "cgroup.procs"
    procs.write_text("")  # no tasks listed, yet the directory cannot go yet
    return group, procs


def test_remove_retries_until_the_group_is_free(tmp_path):
    group, procs = _busy_group(tmp_path)
    timer = threading.Timer(0.3, procs.unlink)
    timer.start()
    try:
        assert group.remove(timeout=10) is True
    finally:
        timer.cancel()
    assert not group.dirs[0].exists()


def test_remove_without_a_timeout_tries_once_and_says_so(tmp_path):
    group, _ = _busy_group(tmp_path)
    assert group.remove() is False
    assert group.dirs[0].exists()


def test_remove_gives_up_at_its_timeout(tmp_path):
    group, _ = _busy_group(tmp_path)
    assert group.remove(timeout=0.3) is False
    assert group.dirs[0].exists()
