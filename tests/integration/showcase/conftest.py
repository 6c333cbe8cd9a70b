"""One hub for all showcase integration tests (its own, because its showcase settings differ
from the defaults: a short cell time limit keeps the endless-loop test short, and a cap of three
kernels per app keeps the cap test small). The restart test runs last and restarts it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sunaba.showcase.apphome import CGROUP_PARENT
from tests.conftest import ARTIFACTS
from tests.support.fake_kube_apps import FakeAppCluster
from tests.support.hub import SunabaHub
from tests.support.showcase import (
    SHELTERS_CSV,
    ShowcaseClient,
    ensure_spawned,
    put_file,
    shelters_app,
    sunaba_cli,
)

CELL_TIMEOUT = 8
MAX_KERNELS = 3


@pytest.fixture(scope="package")
def showcase_hub(request):
    if os.geteuid() != 0:
        pytest.fail("showcase tests create Unix users and cgroups: run them as root (make test)")
    hub = SunabaHub(
        extra={
            "showcase": {
                "cell_timeout": CELL_TIMEOUT,
                "pool_size": 1,
                "max_kernels": MAX_KERNELS,
                # Thumbnails are exercised by the browser test; here they would only cost CPU.
                "thumbnails": False,
            }
        }
    )
    failed_before = request.session.testsfailed
    try:
        hub.start()
        yield hub
    finally:
        if request.session.testsfailed > failed_before:
            keep_logs(hub)
        hub.close()
        remove_app_cgroups(hub)


def remove_app_cgroups(hub: SunabaHub) -> None:
    """The service removes its apps' cgroups when it stops; this catches any it could not."""
    for controller in ("memory", "cpu", "pids"):
        parent = Path("/sys/fs/cgroup") / controller / CGROUP_PARENT
        for group in parent.glob(f"{hub.user_prefix}*") if parent.is_dir() else []:
            with contextlib.suppress(OSError):
                group.rmdir()


def keep_logs(hub: SunabaHub) -> None:
    """After a failure: the hub's, the service's and the apps' logs, into artifacts/."""
    target = ARTIFACTS / "showcase-logs"
    shutil.rmtree(target, ignore_errors=True)
    for source in (hub.state_dir / "logs", hub.state_dir / "showcase" / "logs"):
        if source.is_dir():
            shutil.copytree(source, target / source.parent.name, dirs_exist_ok=True)


@pytest.fixture(scope="package")
def client(showcase_hub) -> ShowcaseClient:
    return ShowcaseClient(showcase_hub)


@pytest.fixture(scope="package")
def people(showcase_hub):
    """author and mate in team alpha (course ebpm), outsider in team beta."""
    hub = showcase_hub
    found = {name: hub.new_learner(name) for name in ("author", "mate", "outsider")}
    created = sunaba_cli(
        hub,
        "teams",
        "create",
        "alpha",
        "--title",
        "避難所チーム",
        "--course",
        "ebpm",
        "--members",
        "author",
        "mate",
    )
    assert created.returncode == 0, created.stderr
    created = sunaba_cli(hub, "teams", "create", "beta", "--members", "outsider")
    assert created.returncode == 0, created.stderr
    return found


@pytest.fixture(scope="package")
def author_home(showcase_hub, people):
    """The author's server runs, with the demo app, its data and a private file in the home."""
    hub = showcase_hub
    author = people["author"]
    ensure_spawned(hub, author)
    put_file(hub, author, "work/data/shelters.csv", SHELTERS_CSV.read_text(encoding="utf-8"))
    put_file(hub, author, "work/app.ipynb", shelters_app("MARK-V1"))
    put_file(hub, author, "private/secret.txt", "AUTHOR-SECRET-4711")
    return hub.home_of(author)


@pytest.fixture(scope="package")
def team_app(client, people, author_home) -> int:
    """The demo app, published once by the author for team alpha."""
    response = client.publish(people["author"], "work/app.ipynb", "七尾市の避難所", "alpha")
    assert response.status_code == 201, response.text
    return response.json()["id"]


# The Kubernetes-mode modules: a scratch folder and a fake cluster per test (no hub needed).
@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="sunaba-k8s-showcase-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def cluster():
    with FakeAppCluster() as fake:
        yield fake
        assert fake.running_processes() == [], "a pod's processes outlived it"
