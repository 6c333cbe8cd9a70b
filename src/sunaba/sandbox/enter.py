"""The steps every fork-based sandbox takes, in this order, while still root: the learner's
or submission's cgroup, its rlimits, new namespaces, the filesystem view, then PID 1.

Used by the fast-start zygote (learners' servers) and by the grading pool (submissions)."""

from __future__ import annotations

import os

from sunaba.sandbox.limits import Limits, apply_rlimits, join_cgroup_files
from sunaba.sandbox.namespace import CLONE_NEWNS, CLONE_NEWPID, build_root, unshare


def fork_into_sandbox(
    *,
    cgroup_procs: list[str],
    limits: Limits,
    namespaces: int,
    root: str,
    home: str,
    readonly: list[str],
) -> int:
    """Returns like os.fork(): 0 in the new PID namespace's PID 1, which must call
    `namespace.enter_root(root, …)` next; PID 1's pid in the caller. Without a cgroup, memory
    is capped per process by rlimit instead."""
    join_cgroup_files(cgroup_procs)
    apply_rlimits(limits, memory_by_rlimit=not cgroup_procs, nproc_by_rlimit=True)
    unshare(CLONE_NEWNS | CLONE_NEWPID | namespaces)
    os.makedirs(root, exist_ok=True)
    build_root(root, home, readonly)
    return os.fork()
