"""The pieces of a hub reload that need no hub: finding `sunaba up`, telling the new hub from
the old one by its services, and knowing when its services answer and are routed."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from contextlib import contextmanager

from sunaba.core.hubclient import HubUnreachable
from sunaba.core.hubreload import (
    ask_supervisor,
    remove_supervisor_pid,
    supervisor_pid,
    wait_for_services,
    wait_until_serving,
    write_supervisor_pid,
)

FORMGRADER = "formgrader-"


def test_only_a_running_sunaba_up_is_the_supervisor(tmp_path):
    pid_file = tmp_path / "sunaba-up.pid"
    assert supervisor_pid(pid_file) is None  # no file
    # A process that is not `sunaba up` under a pid written there (a stale or reused pid).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pid_file.write_text(f"{other.pid}\n")
        assert supervisor_pid(pid_file) is None
        assert ask_supervisor(pid_file) is False
        assert other.poll() is None  # no SIGHUP was sent to it
    finally:
        other.kill()
        other.wait()
    # `sunaba up` itself (its command line is what counts).
    fake_up = tmp_path / "sunaba"
    fake_up.write_text("import signal, sys, time\nsignal.pause()\n")
    up = subprocess.Popen([sys.executable, str(fake_up), "--config", "x.yaml", "up"])
    try:
        pid_file.write_text(f"{up.pid}\n")
        assert supervisor_pid(pid_file) == up.pid
        assert ask_supervisor(pid_file) is True
        assert up.wait(timeout=10) == -1  # SIGHUP (no handler in this stand-in)
    finally:
        up.kill()
    assert supervisor_pid(pid_file) is None  # it has gone


def test_the_pid_file_is_removed_only_by_the_run_that_wrote_it(tmp_path):
    pid_file = tmp_path / "sunaba-up.pid"
    write_supervisor_pid(pid_file)
    pid_file.write_text("1\n")  # a later run's
    remove_supervisor_pid(pid_file)
    assert pid_file.exists()
    write_supervisor_pid(pid_file)
    remove_supervisor_pid(pid_file)
    assert not pid_file.exists()


class ReloadingHub:
    """A hub API client stand-in: the old hub's services, then nothing, then the new hub's."""

    def __init__(self, answers):
        self.answers = list(answers)

    def call(self, method, path, body=None, ok=()):
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is None:
            raise HubUnreachable("http://127.0.0.1:1/hub/api", "connection refused")
        return 200, {name: {"name": name} for name in answer}


def test_the_new_hub_is_the_one_with_the_wanted_services():
    old = {"sunaba-exchange", "formgrader-kiso"}
    new = {"sunaba-exchange", "formgrader-kiso", "formgrader-shinki"}
    hub = ReloadingHub([old, old, None, None, new])
    outcome, services = wait_for_services(
        hub, lambda n: n.startswith(FORMGRADER), {"formgrader-kiso", "formgrader-shinki"}, 10,
        interval=0,
    )  # fmt: skip
    assert outcome == "done"
    assert set(services) == new


def test_a_hub_that_never_went_away_did_not_restart():
    old = {"formgrader-kiso"}
    outcome, _ = wait_for_services(
        ReloadingHub([old]), lambda n: n.startswith(FORMGRADER), set(), 5, stop_within=0.05,
        interval=0.01,
    )  # fmt: skip
    assert outcome == "not restarted"


def test_a_hub_that_does_not_come_back_times_out():
    outcome, _ = wait_for_services(
        ReloadingHub([None]), lambda n: n.startswith(FORMGRADER), {"formgrader-x"}, 0.1,
        interval=0.01,
    )  # fmt: skip
    assert outcome == "timeout"


@contextmanager
def web(routes: dict[str, tuple[int, str]]):
    """A loopback HTTP server answering path -> (status, Location)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            status, location = routes.get(self.path, (404, ""))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_service_still_sent_to_the_hub_is_not_routed_yet():
    routes = {
        # The proxy has no route yet: the hub redirects to its own page for the service.
        "/services/formgrader-new/": (302, "/hub/services/formgrader-new/"),
        # Routed: the service sends the person to the hub's login (also a redirect).
        "/services/formgrader-old/": (302, "/hub/api/oauth2/authorize?client_id=x"),
    }
    with web(routes) as base:
        routed = f"{base}/services/formgrader-old/"
        assert wait_until_serving({}, [routed], 2, interval=0.01) is True
        waiting = f"{base}/services/formgrader-new/"
        assert wait_until_serving({}, [waiting], 0.2, interval=0.01) is False
        proxy_error = f"{base}/services/not-running/"  # 404
        assert wait_until_serving({}, [proxy_error], 0.2, interval=0.01) is False


def test_every_service_with_an_address_must_answer_there():
    with web({}) as base:
        services = {
            "sunaba-exchange": {"url": base},  # answers (404 is an answer)
            "sunaba-admin": {"url": ""},  # no address: nothing to wait for
        }
        assert wait_until_serving(services, [], 2, interval=0.01) is True
    nothing = {"sunaba-checks": {"url": "http://127.0.0.1:9"}}  # the discard port: refused
    assert wait_until_serving(nothing, [], 0.2, interval=0.01) is False
