"""Which isolation this machine can give, found by trying it, not by guessing."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.sandbox.bwrap import SandboxLayout, bwrap_args, find_bwrap
from sunaba.sandbox.firewall import PROBE_UID, installed, table_name
from sunaba.sandbox.limits import cgroup_version

NOBODY_UID = 65534


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _bwrap_runs(as_uid: int | None) -> tuple[bool, str]:
    bwrap = find_bwrap()
    if bwrap is None:
        return False, "bwrap not found (Debian package `bubblewrap`)"
    args = bwrap_args(SandboxLayout(home="/usr"), bwrap) + ["/bin/true"]

    def drop():
        if as_uid is not None:
            os.setgroups([])
            os.setgid(as_uid)
            os.setuid(as_uid)

    try:
        result = subprocess.run(
            args, preexec_fn=drop, capture_output=True, text=True, timeout=20, cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if result.returncode != 0:
        return False, result.stderr.strip() or f"exit {result.returncode}"
    return True, "a namespace starts" + (" for an unprivileged user" if as_uid else "")


def _world_readable_path(path: Path) -> tuple[bool, str]:
    """Every directory up to `path` must let others traverse it, or sandboxes cannot run it."""
    if not path.exists():
        return False, f"{path} does not exist yet"
    for part in [path, *path.parents]:
        mode = stat.S_IMODE(part.stat().st_mode)
        if not mode & stat.S_IXOTH:
            return False, f"{part} is not traversable by other users (mode {mode:o})"
    return True, f"{path} is readable by sandbox users"


def run_checks(config: SiteConfig) -> list[Check]:
    root = os.geteuid() == 0
    checks = [Check("root", root, "hub runs as root" if root else "hub is not root")]
    ok, detail = _bwrap_runs(NOBODY_UID if root else None)
    checks.append(Check("bubblewrap", ok, detail))
    version = cgroup_version()
    checks.append(
        Check(
            "cgroups",
            version is not None,
            f"cgroup {version} memory/cpu/pids writable"
            if version
            else "no writable cgroup; rlimits only",
        )
    )
    ok, detail = _world_readable_path(Path(config.hub.prefix) / "venv" / "bin" / "python")
    checks.append(Check("runtime prefix", ok, detail))
    state = Path(config.hub.state_dir)
    if state.exists():
        mode = stat.S_IMODE(state.stat().st_mode)
        checks.append(Check("state dir", mode == 0o700, f"{state} mode {mode:o}"))
    else:
        checks.append(Check("state dir", True, f"{state} will be created 0700"))
    return checks


def isolation_level(config: SiteConfig, checks: list[Check] | None = None) -> str:
    """The mode in force: the configured one if the machine can give it, else the best it can."""
    checks = checks if checks is not None else run_checks(config)
    passed = {c.name for c in checks if c.ok}
    can_full = {"root", "bubblewrap"} <= passed
    can_bwrap = "bubblewrap" in passed
    wanted = config.sandbox.mode
    if wanted == "none":
        return "none"
    if wanted in ("auto", "full") and can_full:
        return "full"
    if wanted == "full":
        return "none"
    return "bubblewrap" if can_bwrap else "none"


def _probe_child(port: int, timeout: float) -> None:
    """Exit 0 when refused, 1 when connected, 2 when the uid could not be taken."""
    try:
        os.setgroups([])
        os.setgid(PROBE_UID)
        os.setuid(PROBE_UID)
    except BaseException:
        os._exit(2)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            os._exit(1)
    except ConnectionRefusedError:
        os._exit(0)
    except BaseException:
        os._exit(3)


def probe(config: SiteConfig, timeout: float = 5.0) -> tuple[bool, str]:
    """Connect as the probe uid (in the table's set) to a loopback port root listens on: the
    policy is in force when that is refused while root still connects."""
    if os.geteuid() != 0:
        return False, "cannot test the network policy without root"
    if not installed(config):
        return False, f"no firewall table {table_name(config)} (installed by `sunaba up`)"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            _probe_child(port, timeout)
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return False, "a sandbox uid still reaches other loopback ports"
    return True, "sandbox uids reach only the hub API, Sunaba services, DNS" + (
        " and the internet" if config.network.internet else ""
    )


def network_check(config: SiteConfig) -> Check:
    """Whether the learners' network policy is in force now, tested as a sandbox uid."""
    if not config.network.firewall:
        return Check("network policy", False, "off (network.firewall: false)")
    ok, detail = probe(config)
    return Check("network policy", ok, detail)


def describe(level: str, checks: list[Check]) -> str:
    cgroups = next((c for c in checks if c.name == "cgroups"), None)
    if level == "full":
        limits = cgroups.detail if cgroups and cgroups.ok else "rlimits (no writable cgroup)"
        return f"full: a Unix account and a bubblewrap namespace per learner; limits by {limits}"
    if level == "bubblewrap":
        return "bubblewrap: a namespace and private home per learner, all under the hub's uid"
    return "none: learners' servers are NOT isolated (demo only)"
