"""Reloading the running hub, as The Littlest JupyterHub reloads its hub after a config change.

JupyterHub reads its services and roles once, when it starts, and its REST API cannot add a
service it runs itself or a role. A course synced or retired while the hub runs changes both
(the course's formgrader, and who may open it), so the hub is started again on the same
database, and learners keep working:

- on one machine the sync sends SIGHUP to `sunaba up` (`sunaba.runtime.hubprocess`), which asks
  the hub to shut down through the hub's own API, leaving learners' servers and the proxy
  running, and starts it again; `systemctl reload` does the same on a VM;
- on Kubernetes the sync asks the hub directly, and the pod restarts its container.

The new hub finds learners' servers still running (their state is in its database), routes
them again, and starts the services the site now has. Managed services, formgraders included,
are started anew.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from sunaba.core.hubclient import HubApiError, HubClient, HubUnreachable

# Keep learners' servers and the proxy: only the hub process (and the services it runs) stops.
KEEP_RUNNING = {"servers": False, "proxy": False}
SUPERVISOR = ("sunaba", "up")
# How soon the hub stops answering once a reload was asked for (it stops its services first).
STOP_WITHIN = 60.0


def write_supervisor_pid(path: Path) -> None:
    path.write_text(f"{os.getpid()}\n", encoding="ascii")


def remove_supervisor_pid(path: Path) -> None:
    """Only this process's own file (a later run may have written its own since)."""
    try:
        mine = int(path.read_text(encoding="ascii").strip()) == os.getpid()
    except (OSError, ValueError):
        return
    if mine:
        path.unlink(missing_ok=True)


def supervisor_pid(path: Path) -> int | None:
    """The pid of the `sunaba up` that wrote the file, while it runs; None otherwise."""
    try:
        pid = int(path.read_text(encoding="ascii").strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    words = [Path(part.decode(errors="replace")).name for part in command if part]
    return pid if all(word in words for word in SUPERVISOR) else None


def ask_supervisor(path: Path) -> bool:
    """SIGHUP to the running `sunaba up`; False when none runs."""
    pid = supervisor_pid(path)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError:
        return False
    return True


def shut_down_keeping_servers(client: HubClient) -> bool:
    """Ask the hub to stop itself and its services only; False when it refused or was gone."""
    try:
        status, _ = client.call("POST", "/shutdown", KEEP_RUNNING, ok=[403])
    except (HubApiError, HubUnreachable):
        return False
    return status == 202


def hub_services(client: HubClient) -> dict[str, dict] | None:
    """The services the hub has (name -> model), or None while it does not answer."""
    try:
        _, listing = client.call("GET", "/services")
    except (HubApiError, HubUnreachable):
        return None
    return listing if isinstance(listing, dict) else None


def wait_for_services(
    client: HubClient,
    matches,
    wanted: set[str],
    timeout: float,
    stop_within: float = STOP_WITHIN,
    interval: float = 0.5,
) -> tuple[str, dict[str, dict]]:
    """Until the hub answers with exactly the `wanted` services among those `matches` picks
    out: ("done", its services). The hub being reloaded still has the old set, so such an
    answer comes from the new hub (which answers before it has started its services: see
    `wait_until_serving`). "not restarted" when the old hub still answered after `stop_within`
    seconds (the reload was refused), "timeout" when the new one did not come in `timeout`."""
    started = time.monotonic()
    went_away = False
    while (elapsed := time.monotonic() - started) < timeout:
        services = hub_services(client)
        if services is None:
            went_away = True
        elif {name for name in services if matches(name)} == wanted:
            return "done", services
        elif not went_away and elapsed > stop_within:
            return "not restarted", {}
        time.sleep(interval)
    return "timeout", {}


def wait_until_serving(
    services: dict[str, dict], routed: list[str], timeout: float, interval: float = 0.5
) -> bool:
    """Until every service with an address answers there (the hub starts them one after
    another, then routes them), and each of the `routed` URLs (`…/services/<name>/`, through
    the proxy) is answered by its service. Until it is routed, the proxy sends such a request
    to the hub, which redirects it to `…/hub/services/<name>/`."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        NoRedirects,  # loopback; a login redirect is an answer
    )
    direct = [model["url"] for model in services.values() if model.get("url")]
    waiting = [(url, _answers) for url in direct] + [(url, _routed) for url in routed]
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        waiting = [(url, check) for url, check in waiting if not check(opener, url)]
        if waiting:
            time.sleep(interval)
    return not waiting


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _status(opener, url: str) -> tuple[int | None, str]:
    """(HTTP status, redirect target) of a GET, (None, "") when nothing answers."""
    try:
        with opener.open(url, timeout=10) as response:  # noqa: S310 (the hub's own http URLs)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")
    except (urllib.error.URLError, OSError):
        return None, ""


def _answers(opener, url: str) -> bool:
    return _status(opener, url)[0] is not None


def _routed(opener, url: str) -> bool:
    status, location = _status(opener, url)
    if status in (None, 404, 502, 503):
        return False
    to_hub = urlsplit(url).path.replace("/services/", "/hub/services/", 1)
    return urlsplit(location).path != to_hub
