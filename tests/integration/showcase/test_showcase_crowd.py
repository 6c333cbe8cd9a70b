"""An app under a crowd, on a hub of its own with little memory per app: the number of viewers'
kernels follows from the memory (a config where not even one fits is refused in Japanese),
viewers past it get the Japanese "busy" page while every kernel handed out stays alive, and
the processes a notebook starts end with its viewer's kernel."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sunaba.showcase.apphome import CGROUP_PARENT
from tests.integration.showcase.conftest import remove_app_cgroups
from tests.support.hub import SUNABA, SunabaHub
from tests.support.showcase import (
    SHELTERS_CSV,
    ShowcaseClient,
    ensure_spawned,
    kernel_id_of,
    notebook,
    put_file,
    shelters_app,
    sunaba_cli,
)

pytestmark = pytest.mark.integration

# 1G per app: after the Voilà server (256M) and one preheated kernel, two of 200M fit.
MEMORY = "1G"
KERNEL_MEMORY = "200M"
POOL = 1
CAP = 2
TAG = "SUNABA_KERNEL"
SLEEPERS = notebook(
    "import subprocess\n"
    "child = subprocess.Popen(['sleep', '4321'])\n"
    "# One that leaves the kernel's session, as a daemon would.\n"
    "detached = subprocess.Popen(['sleep', '4322'], start_new_session=True)\n"
    "print('SLEEPERS-STARTED')\n"
)


@pytest.fixture(scope="module")
def client():
    if os.geteuid() != 0:
        pytest.fail("showcase tests create Unix users and cgroups: run them as root (make test)")
    hub = SunabaHub(
        extra={
            "showcase": {
                "memory_limit": MEMORY,
                "kernel_memory": KERNEL_MEMORY,
                "pool_size": POOL,
                "cell_timeout": 30,
                "thumbnails": False,
            }
        }
    )
    try:
        hub.start(timeout=600)
        yield ShowcaseClient(hub)
    finally:
        hub.close()
        remove_app_cgroups(hub)


@pytest.fixture(scope="module")
def author(client):
    hub = client.hub
    learner = hub.new_learner("author")
    created = sunaba_cli(hub, "teams", "create", "crowd", "--members", "author")
    assert created.returncode == 0, created.stderr
    ensure_spawned(hub, learner)
    return learner


def publish(client, author, path: str, text: str, title: str) -> int:
    put_file(client.hub, author, path, text)
    response = client.publish(author, path, title, "crowd", visibility="public")
    assert response.status_code == 201, response.text
    return response.json()["id"]


def tagged(kernel_id: str | None = None) -> dict[int, tuple[str, str]]:
    """Processes on this machine started for an app's kernel: pid -> (kernel id, command)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        for item in environ:
            if item.startswith(f"{TAG}=".encode()):
                tag = item.split(b"=", 1)[1].decode()
                if kernel_id is None or tag == kernel_id:
                    found[int(entry.name)] = (tag, command)
    return found


def sleepers(kernel_id: str | None = None) -> dict[int, tuple[str, str]]:
    return {
        pid: found for pid, found in tagged(kernel_id).items() if found[1].startswith("sleep 432")
    }


def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.5)


def oom_kills(account: str) -> int:
    """How often the kernel's OOM killer struck inside the app's memory cgroup."""
    for path, key in (
        (
            Path("/sys/fs/cgroup/memory") / CGROUP_PARENT / account / "memory.oom_control",
            "oom_kill",
        ),
        (Path("/sys/fs/cgroup") / CGROUP_PARENT / account / "memory.events", "oom_kill"),
    ):
        if path.is_file():
            for line in path.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    raise AssertionError(f"no memory cgroup of {account} with an OOM-kill count")


def test_a_config_where_no_viewer_fits_is_refused_in_japanese():
    with tempfile.TemporaryDirectory(prefix="sunaba-test-") as folder:
        site = Path(folder) / "sunaba.yaml"
        site.write_text("showcase:\n  memory_limit: 600M\n  kernel_memory: 200M\n")
        result = sunaba_cli_file(site)
        assert result.returncode == 1
        for key in ("showcase.memory_limit", "showcase.kernel_memory", "showcase.pool_size"):
            assert key in result.stderr
        assert "1 つも動かせません" in result.stderr and "856M 以上" in result.stderr
        site.write_text("showcase:\n  memory_limit: 900M\n  kernel_memory: 200M\n")
        assert sunaba_cli_file(site).returncode == 0


def sunaba_cli_file(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SUNABA), "config", "check", str(site)], capture_output=True, text=True, timeout=120
    )


def test_what_a_notebook_starts_ends_with_its_viewers_kernel(client, author):
    app_id = publish(client, author, "sleepers/app.ipynb", SLEEPERS, "眠るプロセス")
    page = client.wait_page(app_id)
    assert page.status_code == 200
    page = client.page(app_id, keep_kernel=True)
    assert page.status_code == 200 and "SLEEPERS-STARTED" in page.text, page.text[-2000:]
    kernel = kernel_id_of(page.text)
    mine = sleepers(kernel)
    assert sorted(command for _tag, command in mine.values()) == ["sleep 4321", "sleep 4322"]
    # The refilled pool's kernel runs the notebook too: its sleepers must be left alone.
    others = wait_for(
        lambda: {pid for pid, (tag, _) in sleepers().items() if tag != kernel},
        "the preheated kernel's sleepers",
    )
    assert client.shutdown_kernel(app_id, kernel) == 204
    wait_for(lambda: not sleepers(kernel), f"no sleeper of kernel {kernel} left", timeout=30)
    assert others <= set(sleepers()), "the preheated kernel's processes were killed too"


def test_a_crowd_past_the_cap_gets_the_busy_page_and_no_kernel_is_killed(client, author):
    put_file(client.hub, author, "crowd/data/shelters.csv", SHELTERS_CSV.read_text("utf-8"))
    app_id = publish(client, author, "crowd/app.ipynb", shelters_app("CROWD"), "混雑テスト")
    assert client.wait_page(app_id).status_code == 200
    account = f"{client.hub.user_prefix}_app{app_id}"
    with ThreadPoolExecutor(max_workers=CAP + 2) as pool:
        pages = list(pool.map(lambda _: client.page(app_id, keep_kernel=True), range(CAP + 2)))
    served = [kernel_id_of(p.text) for p in pages if p.status_code == 200]
    try:
        busy = [p for p in pages if p.status_code == 503]
        assert len(served) == CAP and len(busy) == 2, [(p.status_code, p.text[:300]) for p in pages]
        for page in busy:
            assert "ただいま混雑しています" in page.text and "もう一度開いてください" in page.text
        for kernel in served:
            kernels = [c for _t, c in tagged(kernel).values() if "ipykernel" in c]
            assert kernels, f"the kernel {kernel} handed to a viewer is gone"
        assert oom_kills(account) == 0
    finally:
        for kernel in served:
            client.shutdown_kernel(app_id, kernel)
    # Once a viewer leaves, the next one is served.
    assert client.page(app_id).status_code == 200
