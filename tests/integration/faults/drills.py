"""What the fault drills share: finding and killing one of this hub's services, waiting for it
to come back, and fingerprints of what must never be lost (learners' work, the exchange's
storage, the gradebooks)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.courses import CourseWorld
from tests.support.hub import SunabaHub


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[1])


def descendants(root: int) -> list[int]:
    """Live processes below `root` (this hub's `sunaba up`), whatever session they are in."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                parents[int(entry.name)] = parent
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def service_pid(hub: SunabaHub, module: str) -> int | None:
    """The pid of this hub's service run as `python -m <module>`, if it runs."""
    for pid in descendants(hub.proc.pid):
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if module.encode() in args and b"-m" in args:
                return pid
    return None


def kill_service(hub: SunabaHub, module: str, pid: int | None = None) -> int:
    """SIGKILL the service (`pid`, found when not given) and wait until it no longer runs;
    returns the pid it had."""
    pid = pid or service_pid(hub, module)
    assert pid is not None, f"{module} is not running\n{hub.log_tail(40)}"
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _parent_of(pid) is None, 10, f"{module} (pid {pid}) still running")
    return pid


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, hub=None, every: float = 0.3
):
    """Poll until `condition()` is truthy; a drill fails on a condition, never on a time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}\n{hub.log_tail(40) if hub else ''}")


def wait_for_restart(hub: SunabaHub, module: str, old_pid: int, port: int) -> int:
    """The hub restarts a managed service that exited; wait for the new one to listen. (It
    notices on its next poll of the service, every 30 s by default.)"""

    def back():
        pid = service_pid(hub, module)
        return pid if pid not in (None, old_pid) and listening(port) else None

    return wait_for(back, 120, f"the hub did not restart {module}", hub)


# -- fingerprints ------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    if path.suffix in (".db", ".sqlite"):
        # A database's content, not its pages: a reopened database may rewrite a page with
        # the same rows.
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            text = "\n".join(db.iterdump())
        return hashlib.sha256(text.encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(root: Path, *, visible_only: bool = False) -> dict[str, str]:
    """relative path -> digest of every file below `root`. With `visible_only`, folders and
    files whose name starts with "." are left out: in a learner's home they are Jupyter's own
    (kernel history, runtime files, workspaces), which any running kernel changes."""
    found = {}
    if not root.is_dir():
        return found
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if visible_only and any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            found[str(relative)] = _digest(path)
    return found


def snapshot(world: CourseWorld) -> dict[str, dict[str, str]]:
    """Learners' homes (their files), the exchange's storage and every course's gradebook."""
    from sunaba.core.layout import CoursePaths, exchange_root

    config = world.config
    gradebooks = {}
    for course in ("kiso", "oyo"):
        path = CoursePaths.of(config, course).gradebook
        if path.is_file():
            gradebooks[course] = _digest(path)
    return {
        "homes": fingerprint(world.hub.home_root, visible_only=True),
        "exchange": fingerprint(exchange_root(config)),
        "gradebooks": gradebooks,
    }


def differences(before: dict, after: dict) -> dict[str, list[str]]:
    """What was added, changed and removed, per area."""
    found = {}
    for area in before.keys() | after.keys():
        old, new = before.get(area, {}), after.get(area, {})
        found[area] = {
            "added": sorted(new.keys() - old.keys()),
            "changed": sorted(k for k in old.keys() & new.keys() if old[k] != new[k]),
            "removed": sorted(old.keys() - new.keys()),
        }
    return found


def hub_service_port(hub: SunabaHub, name: str) -> int:
    """The port the hub says service `name` listens on."""
    from urllib.parse import urlsplit

    model = hub.api("GET", f"/services/{name}")
    assert model.ok, model.text
    return urlsplit(model.json()["url"]).port


def learner_processes(hub: SunabaHub) -> list[str]:
    """Processes still running as one of this hub's learners (grader accounts left out)."""
    import subprocess

    found = []
    for account in hub.accounts():
        if account[len(hub.user_prefix) :].startswith("_"):
            continue
        result = subprocess.run(["pgrep", "-u", account, "-a"], capture_output=True, text=True)
        found += [line for line in result.stdout.splitlines() if "<defunct>" not in line]
    return found


# -- what one run of `sunaba up` started ---------------------------------------------------------


def _read(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def _environ(pid: int) -> dict[str, str]:
    found = {}
    for item in _read(pid, "environ").split(b"\0"):
        key, _, value = item.decode(errors="replace").partition("=")
        if key:
            found[key] = value
    return found


def _live_pids() -> list[int]:
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return [pid for pid in pids if pid != os.getpid() and _parent_of(pid) is not None]


def running_services(world: CourseWorld) -> dict[str, list[int]]:
    """name -> pids of this hub's long-running processes: the hub, its proxy, the fast-start
    server and each managed service (found by the JUPYTERHUB_SERVICE_NAME the hub gives it).
    Their own children (a formgrader's kernels, the servers forked from the fast-start
    server) are left out."""
    config, hub = world.config, world.hub
    api_url = f"http://127.0.0.1:{config.hub.hub_port}"
    names = {}
    for pid in _live_pids():
        args = _read(pid, "cmdline").decode(errors="replace").split("\0")
        env = _environ(pid)
        if env.get("JUPYTERHUB_SERVICE_NAME") and env.get("JUPYTERHUB_API_URL", "").startswith(
            api_url
        ):
            names[pid] = env["JUPYTERHUB_SERVICE_NAME"]
        elif any(a.endswith("configurable-http-proxy") for a in args) and (
            str(config.hub.proxy_api_port) in args
        ):
            names[pid] = "proxy"
        elif any(a.endswith("/jupyterhub") for a in args[:2]) and env.get("SUNABA_CONFIG") == str(
            hub.config_file
        ):
            names[pid] = "hub"
        elif "sunaba.sandbox.zygote" in args and str(hub.state_dir / "zygote.sock") in args:
            # Servers forked from it keep its command line but run as their learner.
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{pid}").st_uid == 0:
                    names[pid] = "zygote"
    found: dict[str, list[int]] = {}
    for pid, name in names.items():
        if names.get(_parent_of(pid)) != name:
            found.setdefault(name, []).append(pid)
    return found


def _listening_ports() -> set[int]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for row in (line.split() for line in handle.readlines()[1:]):
                if row[3] == "0A":  # LISTEN
                    found.add(int(row[1].rsplit(":", 1)[1], 16))
    return found


def run_leftovers(world: CourseWorld, ports: set[int]) -> list[str]:
    """What is left of a run of `sunaba up` that has ended: members of its run group (the
    cgroup named after its state dir), processes whose command line, environment or working
    folder names the hub's test root, learners' processes, and listeners on its ports."""
    from sunaba.runtime.rungroup import RunGroup

    hub = world.hub
    root = str(hub.root).encode()
    members = RunGroup(str(hub.state_dir)).pids()
    found = []
    for pid in _live_pids():
        cwd = ""
        with contextlib.suppress(OSError):  # some (PID 1 in a container) hide their folder
            cwd = os.readlink(f"/proc/{pid}/cwd")
        if (
            pid in members
            or root in _read(pid, "cmdline")
            or root in _read(pid, "environ")
            or cwd.startswith(str(hub.root))
        ):
            command = _read(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{pid} {command}")
    found += learner_processes(hub)
    found += [f"port {port} still listening" for port in sorted(ports & _listening_ports())]
    return found


def run_ports(world: CourseWorld) -> set[int]:
    """Every port this hub's run listens on: public, hub API, proxy API and each service's."""
    from urllib.parse import urlsplit

    hub, config = world.hub, world.config
    services = hub.api("GET", "/services")
    assert services.ok, services.text
    ports = {config.hub.port, config.hub.hub_port, config.hub.proxy_api_port}
    for model in services.json().values():
        if model.get("url"):
            ports.add(urlsplit(model["url"]).port)
    return ports
