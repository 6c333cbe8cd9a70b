"""Run a showcase script inside a sandbox built from `sunaba.sandbox`'s parts.

The showcase runs three kinds of sandboxed processes: an app's Voilà server and its publish-time
check (as the app's account, no network), the reader that snapshots an author's notebook (as the
author, only their home visible) and the thumbnail renderer (as the app's account, with loopback
network to reach the app through the service). They differ only in account, mounts and network,
so they share this one builder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.hub.apply import learner_env
from sunaba.sandbox.bwrap import SandboxLayout, bwrap_args, find_bwrap
from sunaba.sandbox.limits import CgroupGroup, Limits, apply_rlimits, join_cgroup_files
from sunaba.showcase.sandboxed import script_source

# On Kubernetes each app runs in a pod of its own (`k8s_runner`), an author's notebook is read
# from their own running server (`author_server`) and the publish-time check runs in a pod of
# its own (`k8s_check`); thumbnails (a browser next to the app) are not rendered there.
KUBERNETES = "kubernetes"


@dataclass(frozen=True)
class Identity:
    """Whom a sandboxed process runs as; None fields mean "the service's own uid"."""

    uid: int | None = None
    gid: int | None = None
    name: str = ""


@dataclass(frozen=True)
class SandboxedRun:
    """Everything needed to start one sandboxed process."""

    identity: Identity
    writable: Path
    readonly: Sequence[str] = field(default_factory=tuple)
    network: bool = False
    limits: Limits | None = None
    cgroup: CgroupGroup | None = None


def python_for(config: SiteConfig) -> str:
    """The runtime's Python: the one every sandbox user can execute."""
    return str(Path(config.hub.prefix) / "venv" / "bin" / "python")


def script_argv(config: SiteConfig, script: str, *args: str) -> list[str]:
    # -I: ignore PYTHON* variables and the user's site-packages; the script is passed as text
    # because the checkout (and with it `sunaba`) is not visible inside the sandbox.
    return [python_for(config), "-I", "-c", script_source(script), *args]


def sandbox_env(config: SiteConfig, run: SandboxedRun) -> dict[str, str]:
    env = learner_env(config)
    env.update(
        {
            "HOME": str(run.writable),
            "USER": run.identity.name or "sunaba-app",
            "JUPYTER_CONFIG_DIR": str(run.writable / ".jupyter"),
            "JUPYTER_RUNTIME_DIR": str(run.writable / ".runtime"),
            "MPLCONFIGDIR": str(run.writable / ".matplotlib"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def command(run: SandboxedRun, argv: Sequence[str]) -> list[str]:
    bwrap = find_bwrap()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed; run `sunaba doctor`")
    layout = SandboxLayout(home=str(run.writable), readonly=tuple(run.readonly), hostname="app")
    args = bwrap_args(layout, bwrap)
    extra = ["--die-with-parent"]
    if not run.network:
        # Only loopback inside: the app cannot reach the hub, other servers or the internet.
        extra.append("--unshare-net")
    return [args[0], *extra, *args[1:], *argv]


def preexec(run: SandboxedRun) -> Callable[[], None]:
    procs_files = run.cgroup.procs_files() if run.cgroup is not None else []
    identity = run.identity
    limits = run.limits
    writable = str(run.writable)

    def child() -> None:
        # Between fork and exec, still as the service's user (root in `full` mode).
        if procs_files:
            join_cgroup_files(procs_files)
        if limits is not None:
            apply_rlimits(
                limits,
                memory_by_rlimit=not procs_files,
                nproc_by_rlimit=identity.uid is not None,
            )
        if identity.uid is not None:
            os.setgroups([])
            os.setgid(identity.gid)
            os.setuid(identity.uid)
        os.chdir(writable)

    return child
