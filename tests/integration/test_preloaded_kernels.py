"""Kernels forked from a learner's pre-imported kernel forkserver (`sandbox.preload_kernels`,
turned on here) are as enclosed as any kernel: the learner's uid, sandbox and cgroup, nothing of
another learner's; two kernels share no state and no random state; interrupt, restart and a
kernel that dies work as for a launched kernel; without the forkserver kernels still start.
Under fast start the forkserver is a fork of the zygote, which imported pandas once for all."""

from __future__ import annotations

import contextlib
import pwd
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from sunaba.sandbox.kernel_forkserver import SOCKET_PATH
from tests.support.hub import SunabaHub

pytestmark = pytest.mark.integration

WHO = (
    "import os\n"
    "ppid = os.getppid()\n"
    "parent = open(f'/proc/{ppid}/comm').read().strip()\n"
    "server = int(open(f'/proc/{ppid}/stat').read().rsplit(')', 1)[1].split()[1])\n"
    "print('uid', os.getuid())\n"
    "print('forked', parent == 'sunaba-kernels')\n"
    "print('same-cgroup', open('/proc/self/cgroup').read() == open(f'/proc/{server}/cgroup').read())\n"
)


@pytest.fixture(scope="module", params=[True, False], ids=["fast-start", "bubblewrap"])
def hub(request):
    """Servers forked by the fast-start server, then one bubblewrap process per server."""
    test_hub = SunabaHub(extra={"sandbox": {"fast_start": request.param, "preload_kernels": True}})
    test_hub.fast_start = request.param
    try:
        test_hub.start()
        yield test_hub
    finally:
        test_hub.close()


@pytest.fixture(scope="module")
def pair(hub):
    ann, bob = hub.new_learner("ann"), hub.new_learner("bob")
    hub.spawn(ann)
    hub.spawn(bob)
    outcome = hub.run(bob, "open('memo.txt', 'w').write('Bの秘密のメモ'); print('saved')")
    assert outcome["stdout"].strip() == "saved", outcome
    for learner in (ann, bob):
        wait_for_forkserver(hub, learner)
    return ann, bob


def wait_for_forkserver(hub, learner, timeout: float = 180) -> None:
    """The forkserver listens once its imports are done; until then kernels start the ordinary
    way. Asked from an ordinary kernel of the learner's own (the socket is in their sandbox)."""
    code = (
        "import os, time\n"
        f"end = time.monotonic() + {timeout}\n"
        f"while not os.path.exists({SOCKET_PATH!r}) and time.monotonic() < end:\n"
        "    time.sleep(0.5)\n"
        f"print(os.path.exists({SOCKET_PATH!r}))\n"
    )
    outcome = hub.run(learner, code, timeout=timeout + 30)
    assert outcome["stdout"].strip() == "True", outcome


def forkserver_of(hub, learner) -> psutil.Process:
    uid = pwd.getpwnam(hub.account_of(learner)).pw_uid
    found = [
        proc
        for proc in psutil.process_iter(["name", "uids"])
        if proc.info["name"] == "sunaba-kernels" and proc.info["uids"].real == uid
    ]
    assert len(found) == 1, found
    return found[0]


def zygote_of(hub) -> psutil.Process:
    socket_path = str(hub.state_dir / "zygote.sock")
    for proc in psutil.process_iter(["cmdline"]):
        command = proc.info["cmdline"] or []
        if "sunaba.sandbox.zygote" in command and socket_path in command:
            return proc
    raise AssertionError(f"no zygote for {socket_path}")


def pid_inside(proc: psutil.Process) -> int:
    """The process's PID in its own (innermost) PID namespace."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("NSpid:")).split()[-1])


def mapped_pandas(proc: psutil.Process) -> bool:
    return "/pandas/_libs/" in Path(f"/proc/{proc.pid}/maps").read_text()


class HostProcess:
    def __init__(self, pid: int):
        self.pid = pid

    def uid(self) -> int | None:
        with contextlib.suppress(psutil.Error):
            return psutil.Process(self.pid).uids().real
        return None

    def memory_group(self) -> str:
        text = Path(f"/proc/{self.pid}/cgroup").read_text()
        return next(line for line in text.splitlines() if ":memory:" in line or line[:3] == "0::")


def lines(outcome: dict) -> dict[str, str]:
    assert outcome["status"] == "ok", outcome
    return dict(line.split(" ", 1) for line in outcome["stdout"].splitlines())


def kernel_api(hub, learner, method: str, path: str = "", **kwargs):
    return requests.request(
        method,
        f"{hub.url}/user/{learner.name}/api/kernels{path}",
        headers={"Authorization": f"token {learner.token}"},
        timeout=60,
        **kwargs,
    )


def test_a_forked_kernel_runs_as_the_learner_in_their_sandbox(hub, pair):
    ann, bob = pair
    kernel = hub.start_kernel(ann)
    facts = lines(hub.execute(ann, kernel, WHO))
    assert facts["forked"] == "True", facts
    assert int(facts["uid"]) == pwd.getpwnam(hub.account_of(ann)).pw_uid
    assert facts["same-cgroup"] == "True", facts
    # Seen from the host (inside, a cgroup namespace may hide the path): every process of the
    # learner's account, the forked kernel among them, is in the learner's own cgroup.
    uid = pwd.getpwnam(hub.account_of(ann)).pw_uid
    groups = [proc.memory_group() for proc in map(HostProcess, psutil.pids()) if proc.uid() == uid]
    assert len(groups) >= 3 and all(hub.account_of(ann) in g for g in groups), groups
    code = (
        "import os\n"
        "try:\n"
        f"    print('READ', open({str(hub.home_of(bob) / 'memo.txt')!r}).read())\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )
    outcome = hub.execute(ann, kernel, code)
    assert outcome["stdout"].startswith("refused"), outcome
    assert "Bの秘密" not in outcome["stdout"]


def test_pandas_is_imported_once_for_the_class_under_fast_start(hub, pair):
    """Each learner's forkserver is forked from the zygote, which imported pandas before any
    server: its pages are shared by every learner's kernels instead of loaded per learner.
    Without the zygote each server starts a forkserver of its own, which imports pandas."""
    ann, bob = pair
    servers = {forkserver_of(hub, learner).ppid() for learner in (ann, bob)}
    for learner in (ann, bob):
        forkserver = forkserver_of(hub, learner)
        parent = psutil.Process(forkserver.ppid())
        assert mapped_pandas(forkserver)
        # Fast start: a sibling of the server under the sandbox's init (PID 1 in there);
        # otherwise a child of the server.
        assert (pid_inside(parent) == 1) == hub.fast_start, parent
    assert len(servers) == 2
    if hub.fast_start:
        assert mapped_pandas(zygote_of(hub))


def test_two_kernels_share_no_state_and_no_random_state(hub, pair):
    ann, _ = pair
    first, second = hub.start_kernel(ann), hub.start_kernel(ann)
    draw = "import random, numpy as np\nprint('draw', random.random(), np.random.rand())"
    a = hub.execute(ann, first, f"secret = 'only-in-first'\n{draw}")
    b = hub.execute(ann, second, draw)
    assert lines(a)["draw"] != lines(b)["draw"], (a, b)
    outcome = hub.execute(ann, second, "secret")
    assert outcome["status"] == "error" and "NameError" in outcome["error"], outcome
    assert hub.execute(ann, first, "secret")["result"] == "'only-in-first'"
    table = "import pandas as pd\npd.DataFrame({'a': [1, 2]}).sum()"
    assert "3" in hub.execute(ann, second, table)["result"]


def test_interrupt_and_restart(hub, pair):
    ann, _ = pair
    kernel = hub.start_kernel(ann)
    hub.execute(ann, kernel, "kept = 1")
    found: dict = {}
    sleeper = threading.Thread(
        target=lambda: found.update(hub.execute(ann, kernel, "import time; time.sleep(600)", 90))
    )
    sleeper.start()
    time.sleep(3)
    started = time.monotonic()
    assert kernel_api(hub, ann, "POST", f"/{kernel}/interrupt").status_code == 204
    sleeper.join(60)
    assert found.get("status") == "error", found
    assert "KeyboardInterrupt" in found["error"], found
    print(f"\ninterrupted after {time.monotonic() - started:.2f} s")
    assert hub.execute(ann, kernel, "kept")["result"] == "1"

    assert kernel_api(hub, ann, "POST", f"/{kernel}/restart").ok
    outcome = hub.execute(ann, kernel, "kept")
    assert outcome["status"] == "error" and "NameError" in outcome["error"], outcome
    assert lines(hub.execute(ann, kernel, WHO))["forked"] == "True"


def test_a_kernel_that_dies_is_seen_dead_and_restarts(hub, pair):
    ann, _ = pair
    kernel = hub.start_kernel(ann)
    assert hub.execute(ann, kernel, "6 * 7")["result"] == "42"
    outcome = hub.execute(ann, kernel, "import os; os._exit(1)", 60)
    assert outcome["status"] == "died", outcome
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if hub.execute(ann, kernel, "6 * 7", 20)["result"] == "42":
            break
        time.sleep(1)
    else:
        raise AssertionError(f"the restarted kernel does not answer\n{hub.log_tail()}")
    assert lines(hub.execute(ann, kernel, WHO))["forked"] == "True"


def test_without_the_forkserver_kernels_start_the_ordinary_way(hub, pair):
    _, bob = pair
    kernel = hub.start_kernel(bob)
    # The learner's own code may end their forkserver: their next kernels still start.
    code = "import os, signal; os.kill(os.getppid(), signal.SIGKILL)"
    killed = hub.execute(bob, kernel, code, 10)
    time.sleep(2)
    other = hub.start_kernel(bob)
    facts = lines(hub.execute(bob, other, WHO, 120))
    assert facts["forked"] == "False", (facts, killed)
    assert int(facts["uid"]) == pwd.getpwnam(hub.account_of(bob)).pw_uid
    assert facts["same-cgroup"] == "True", facts
    logs = [hub.log_text(), *(p.read_text(errors="replace") for p in hub.state_dir.rglob("*.log"))]
    assert any("Kernel started without the forkserver" in text for text in logs)
