"""Which isolation this machine can give, found by trying it, not by guessing."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.messages import Text
from sunaba.sandbox.bwrap import SandboxLayout, bwrap_args, find_bwrap
from sunaba.sandbox.firewall import PROBE_UID, installed, table_name
from sunaba.sandbox.limits import cgroup_version

NOBODY_UID = 65534


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str | Text  # for the admin, in the site's language (`sunaba.messages`)


def _bwrap_runs(as_uid: int | None) -> tuple[bool, str | Text]:
    bwrap = find_bwrap()
    if bwrap is None:
        return False, Text(
            "bwrap が見つかりません（Debian パッケージ `bubblewrap`）",
            "bwrap not found (Debian package `bubblewrap`)",
        )
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
    if as_uid:
        return True, Text(
            "権限のないユーザーでも名前空間を作れます",
            "a namespace starts for an unprivileged user",
        )
    return True, Text("名前空間を作れます", "a namespace starts")


def _world_readable_path(path: Path) -> tuple[bool, Text]:
    """Every directory up to `path` must let others traverse it, or sandboxes cannot run it."""
    if not path.exists():
        return False, Text(f"{path} はまだありません", f"{path} does not exist yet")
    for part in [path, *path.parents]:
        mode = stat.S_IMODE(part.stat().st_mode)
        if not mode & stat.S_IXOTH:
            return False, Text(
                f"{part} を他のユーザーが通れません（モード {mode:o}）",
                f"{part} is not traversable by other users (mode {mode:o})",
            )
    return True, Text(
        f"{path} はサンドボックスのユーザーが読めます", f"{path} is readable by sandbox users"
    )


def run_checks(config: SiteConfig) -> list[Check]:
    root = os.geteuid() == 0
    as_root = Text("ハブは root で動きます", "hub runs as root")
    checks = [
        Check(
            "root", root, as_root if root else Text("ハブは root ではありません", "hub is not root")
        )
    ]
    ok, detail = _bwrap_runs(NOBODY_UID if root else None)
    checks.append(Check("bubblewrap", ok, detail))
    version = cgroup_version()
    checks.append(
        Check(
            "cgroups",
            version is not None,
            Text(
                f"cgroup {version} の memory/cpu/pids に書き込めます",
                f"cgroup {version} memory/cpu/pids writable",
            )
            if version
            else Text(
                "書き込める cgroup がありません。rlimit だけで制限します",
                "no writable cgroup; rlimits only",
            ),
        )
    )
    ok, detail = _world_readable_path(Path(config.hub.prefix) / "venv" / "bin" / "python")
    checks.append(Check("runtime prefix", ok, detail))
    state = Path(config.hub.state_dir)
    if state.exists():
        mode = stat.S_IMODE(state.stat().st_mode)
        detail = Text(f"{state}（モード {mode:o}）", f"{state} mode {mode:o}")
        checks.append(Check("state dir", mode == 0o700, detail))
    else:
        detail = Text(f"{state} はモード 0700 で作ります", f"{state} will be created 0700")
        checks.append(Check("state dir", True, detail))
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


def probe(config: SiteConfig, timeout: float = 5.0) -> tuple[bool, Text]:
    """Connect as the probe uid (in the table's set) to a loopback port root listens on: the
    policy is in force when that is refused while root still connects."""
    if os.geteuid() != 0:
        return False, Text(
            "root でないとネットワーク制限を確かめられません",
            "cannot test the network policy without root",
        )
    if not installed(config):
        table = table_name(config)
        return False, Text(
            f"ファイアウォールのテーブル {table} がありません（`sunaba up` がインストールします）",
            f"no firewall table {table} (installed by `sunaba up`)",
        )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        pid = os.fork()
        if pid == 0:  # pragma: no cover (child)
            _probe_child(port, timeout)
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return False, Text(
            "サンドボックスの uid から、このマシンの他のポートにつながってしまいます",
            "a sandbox uid still reaches other loopback ports",
        )
    internet = config.network.internet
    return True, Text(
        "サンドボックスの uid がつながるのは、ハブの API、Sunaba のサービス、DNS"
        + ("、インターネット" if internet else "")
        + " だけです。受講者のサーバーのアドレスで応答できるのは本人だけです",
        "sandbox uids reach only the hub API, Sunaba services, DNS"
        + (" and the internet" if internet else "")
        + "; only a learner can answer on their server's address",
    )


def network_check(config: SiteConfig) -> Check:
    """Whether the learners' network policy is in force now, tested as a sandbox uid."""
    if not config.network.firewall:
        return Check(
            "network policy",
            False,
            Text("off（network.firewall: false）", "off (network.firewall: false)"),
        )
    ok, detail = probe(config)
    return Check("network policy", ok, detail)


def describe(level: str, checks: list[Check]) -> Text:
    """The isolation level in force, in words (`level` itself stays as in the config)."""
    cgroups = next((c for c in checks if c.name == "cgroups"), None)
    if level == "full":
        if cgroups and cgroups.ok:
            ja_limits, en_limits = "cgroup の memory/cpu/pids", str(cgroups.detail)
        else:
            ja_limits, en_limits = (
                "rlimit（書き込める cgroup がありません）",
                "rlimits (no writable cgroup)",
            )
        return Text(
            f"full: 受講者ごとに Unix アカウントと bubblewrap の名前空間。制限は {ja_limits}",
            f"full: a Unix account and a bubblewrap namespace per learner; limits by {en_limits}",
        )
    if level == "bubblewrap":
        return Text(
            "bubblewrap: 受講者ごとに名前空間と専用のホーム（すべてハブの uid で動きます）",
            "bubblewrap: a namespace and private home per learner, all under the hub's uid",
        )
    return Text(
        "none: 受講者のサーバーは隔離されていません（デモ専用）",
        "none: learners' servers are NOT isolated (demo only)",
    )
