"""`sunaba showcase publish` run in a team member's own JupyterLab (their server's token and the
showcase's address from the server's environment): it publishes through the same request as the
form, copies only what the notebook uses (the probe that prints its own name does not get its
source copied), a failure caused by a file left out says so, and someone outside the team is
refused by the showcase."""

from __future__ import annotations

import json
import os

import pytest
import requests

from tests.integration.showcase.conftest import remove_app_cgroups
from tests.support.hub import SUNABA, SunabaHub
from tests.support.showcase import ShowcaseClient, ensure_spawned, notebook, put_file, sunaba_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client():
    """A hub of this module's own, given time to come up on a busy machine."""
    if os.geteuid() != 0:
        pytest.fail("showcase tests create Unix users and cgroups: run them as root (make test)")
    hub = SunabaHub(extra={"showcase": {"cell_timeout": 30, "pool_size": 1, "thumbnails": False}})
    try:
        hub.start(timeout=300)
        yield ShowcaseClient(hub)
    finally:
        hub.close()
        remove_app_cgroups(hub)


@pytest.fixture(scope="module")
def people(client):
    hub = client.hub
    found = {name: hub.new_learner(name) for name in ("author", "outsider")}
    for team, member in (("alpha", "author"), ("beta", "outsider")):
        created = sunaba_cli(hub, "teams", "create", team, "--members", member)
        assert created.returncode == 0, created.stderr
    return found


@pytest.fixture(scope="module")
def author_home(client, people):
    ensure_spawned(client.hub, people["author"])
    return client.hub.home_of(people["author"])


RUN = """
import json, subprocess
done = subprocess.run([{sunaba!r}, "showcase", "publish", *{args!r}],
                      capture_output=True, text=True, timeout=600, cwd={cwd!r})
print(json.dumps({{"code": done.returncode, "out": done.stdout, "err": done.stderr}}))
"""


def cli_publish(hub, learner, *args: str, cwd: str) -> dict:
    code = RUN.format(sunaba=str(SUNABA), args=list(args), cwd=cwd)
    outcome = hub.run(learner, code, timeout=900)
    assert outcome["status"] == "ok", json.dumps(outcome, ensure_ascii=False)  # all of it
    return json.loads(outcome["stdout"].strip().splitlines()[-1])


def test_publish_from_the_terminal_copies_only_what_the_notebook_uses(client, people, author_home):
    hub = client.hub
    author = people["author"]
    put_file(hub, author, "cli/data.csv", "地区,人数\n北,3\n")
    put_file(hub, author, "cli/memo.csv", "only printed\n")
    put_file(
        hub,
        author,
        "cli/probe.ipynb",
        notebook(
            'print("probe.ipynb")\nname = "memo.csv"\nprint(name, "は読みません")',
            "import pandas as pd\ndf = pd.read_csv('data.csv')\nprint(len(df))",
        ),
    )
    done = cli_publish(
        hub,
        author,
        "probe.ipynb",
        "--team",
        "alpha",
        "--title",
        "端末から公開",
        "--visibility",
        "hub",
        cwd=str(author_home / "cli"),
    )
    assert done["code"] == 0, done
    assert "公開しています" in done["out"] and "第 1 版" in done["out"]
    assert "「memo.csv」" in done["out"]  # named in a string, not used: listed as left out

    apps = client.api("GET", "apps", author).json()
    [app] = [a for a in apps if a["title"] == "端末から公開"]
    assert app["visibility"] == "hub" and app["team"] == "alpha"
    assert sorted(app["versions"][0]["files"]) == ["data.csv", "probe.ipynb"]
    manage = requests.get(
        f"{client.base}manage/{app['id']}", headers=client.headers(author), timeout=60
    )
    assert manage.status_code == 200 and "公開に含めなかったファイル" in manage.text
    assert "memo.csv" in manage.text


def test_a_failure_caused_by_a_left_out_file_says_so(client, people, author_home):
    hub = client.hub
    author = people["author"]
    put_file(hub, author, "above.csv", "x\n1\n")
    put_file(
        hub,
        author,
        "cli2/needs-above.ipynb",
        notebook("import pandas as pd\ndf = pd.read_csv('../above.csv')"),
    )
    done = cli_publish(
        hub,
        author,
        "needs-above.ipynb",
        "--team",
        "alpha",
        "--title",
        "外のファイル",
        cwd=str(author_home / "cli2"),
    )
    assert done["code"] == 1, done
    assert "公開しませんでした" in done["err"]
    assert "「../above.csv」" in done["err"] and "含めなかった" in done["err"]
    assert "pd.read_csv('../above.csv')" in done["err"]  # the failing cell
    titles = [a["title"] for a in client.api("GET", "apps", author).json()]
    assert "外のファイル" not in titles


def test_someone_outside_the_team_cannot_publish_for_it(client, people, author_home):
    hub = client.hub
    outsider = people["outsider"]
    ensure_spawned(hub, outsider)
    put_file(hub, outsider, "x/app.ipynb", notebook("x = 1"))
    done = cli_publish(
        hub,
        outsider,
        "app.ipynb",
        "--team",
        "alpha",
        "--title",
        "なりすまし",
        cwd=str(hub.home_of(outsider) / "x"),
    )
    assert done["code"] == 1
    assert "メンバーではない" in done["err"]


TOKEN_PROBE = """
import json, os, urllib.error, urllib.request
api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(path):
    request = urllib.request.Request(api + path)
    request.add_header("Authorization", "token " + os.environ["JUPYTERHUB_API_TOKEN"])
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
_, me = get("/user")
print(json.dumps({"scopes": me["scopes"], "lookup": get("/services/sunaba-exchange")[0],
                  "url": os.environ.get("SUNABA_SHOWCASE_URL", "")}))
"""


def test_the_server_token_may_call_the_showcase_and_read_no_service(client, people):
    """The one scope the terminal needs, and no `read:services` filter: with one, the hub
    answers 404 where nbgrader's exchange plugin needs 403 to say "in no course"."""
    hub = client.hub
    outsider = people["outsider"]
    ensure_spawned(hub, outsider)
    outcome = hub.run(outsider, TOKEN_PROBE, timeout=120)
    assert outcome["status"] == "ok", json.dumps(outcome, ensure_ascii=False)
    seen = json.loads(outcome["stdout"].strip().splitlines()[-1])
    assert "access:services!service=showcase" in seen["scopes"]
    assert not [s for s in seen["scopes"] if s.startswith(("read:services", "list:services"))]
    assert seen["lookup"] == 403
    assert seen["url"].startswith("http://127.0.0.1:") and seen["url"].endswith(
        "/services/showcase/"
    )
