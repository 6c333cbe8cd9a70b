"""The steps every fork-based sandbox takes, in this order, while still root: the learner's
or submission's cgroup, its rlimits, new namespaces, the filesystem view, then PID 1.

Used by the fast-start zygote (learners' servers) and by the grading pool (submissions)."""

from __future__ import annotations

import os
import resource

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


def close_all_but(keep: list[int]) -> None:
    """Close every descriptor from 3 up except `keep` (sorted): nothing the forking process
    had open (other sandboxes' pipes, sockets) may reach a sandbox."""
    low = 3
    for fd in keep:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
