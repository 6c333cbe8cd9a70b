"""A team publishes a notebook as a Voilà app; who may open it follows its visibility; versions
are kept, restored and unpublished; a notebook that does not run headless is refused."""

from __future__ import annotations

import re
import subprocess

import pytest
import requests

from sunaba.showcase.apphome import CGROUP_PARENT
from tests.integration.showcase.conftest import CELL_TIMEOUT, MAX_KERNELS
from tests.support.hub import account_exists
from tests.support.showcase import (
    cgroup_dirs,
    kernel_id_of,
    notebook,
    put_file,
    shelters_app,
    sunaba_cli,
)

pytestmark = pytest.mark.integration


def app_account(hub, app_id: int) -> str:
    return f"{hub.user_prefix}_app{app_id}"


def leftovers_of(hub, app_id: int) -> list[str]:
    """What of the app is on the machine outside the private store: account, home, cgroups."""
    account = app_account(hub, app_id)
    found = [f"account {account}"] if account_exists(account) else []
    if (hub.home_root / account).exists():
        found.append(f"home {hub.home_root / account}")
    found += [f"cgroup {group}" for group in cgroup_dirs(CGROUP_PARENT, account) if group.exists()]
    return found


def set_visibility(client, people, app_id: int, visibility: str) -> None:
    response = client.api(
        "PATCH", f"apps/{app_id}", people["author"], json={"visibility": visibility}
    )
    assert response.status_code == 200, response.text


def test_teams_are_hub_groups_and_a_learner_sees_their_own(client, people):
    listed = sunaba_cli(client.hub, "teams", "list")
    assert listed.returncode == 0, listed.stderr
    assert "alpha" in listed.stdout and "避難所チーム" in listed.stdout
    teams = client.api("GET", "teams", people["mate"]).json()
    assert [t["name"] for t in teams] == ["alpha"]
    assert sorted(teams[0]["members"]) == ["author", "mate"]
    group = client.hub.api("GET", "/groups/team-alpha").json()
    assert sorted(group["users"]) == ["author", "mate"]


def test_a_bad_team_name_is_refused_in_japanese(client):
    result = sunaba_cli(client.hub, "teams", "create", "Bad Name!")
    assert result.returncode == 1
    assert "チーム名「Bad Name!」は使えません" in result.stderr


def test_publish_snapshots_the_notebook_and_the_data_it_names(client, people, team_app):
    app = client.api("GET", f"apps/{team_app}", people["author"]).json()
    assert app["status"] == "live" and app["live_version"] == 1
    assert app["course"] == "ebpm"
    assert sorted(app["versions"][0]["files"]) == ["app.ipynb", "data/shelters.csv"]


def test_teammate_opens_the_app_outsider_and_anonymous_do_not(client, people, team_app):
    set_visibility(client, people, team_app, "team")
    page = client.page(team_app, people["mate"])
    assert page.status_code == 200
    assert "MARK-V1" in page.text and "避難所の数: 112" in page.text
    # The app's page runs in an opaque origin: its scripts cannot act as the viewer on the hub.
    assert page.headers["Content-Security-Policy"].startswith("sandbox allow-scripts")
    assert "allow-same-origin" not in page.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in page.headers
    assert client.page(team_app, people["outsider"]).status_code == 403
    # Nothing on the page comes from outside (Voilà's templates link CDNs).
    assert re.findall(r"""(?:src|href)=["'](?:https?:)?//""", page.text) == []
    assert "cdn.jsdelivr.net" not in page.text and "cdnjs.cloudflare.com" not in page.text
    # Paths that are not part of the app get a plain 404 (Voilà would serve the page again).
    assert client.page(team_app, people["mate"], path="data/shelters.csv").status_code == 404
    anonymous = client.page(team_app)
    assert anonymous.status_code == 302
    assert "/hub/api/oauth2/authorize" in anonymous.headers["Location"]
    # The gallery lists only what each one may open.
    assert [a["id"] for a in client.api("GET", "apps", people["mate"]).json()] == [team_app]
    assert team_app not in [a["id"] for a in client.api("GET", "apps", people["outsider"]).json()]


def test_hub_visibility_opens_it_to_every_hub_user(client, people, team_app):
    set_visibility(client, people, team_app, "hub")
    try:
        assert client.page(team_app, people["outsider"]).status_code == 200
        assert client.page(team_app).status_code == 302
    finally:
        set_visibility(client, people, team_app, "team")


def test_a_public_app_opens_without_login(client, people, team_app):
    set_visibility(client, people, team_app, "public")
    try:
        page = client.page(team_app)
        assert page.status_code == 200 and "MARK-V1" in page.text
        assert team_app in [a["id"] for a in client.api("GET", "apps").json()]
    finally:
        set_visibility(client, people, team_app, "team")


def test_only_members_publish_and_manage(client, people, team_app):
    refused = client.publish(people["outsider"], "work/app.ipynb", "横取り", "alpha")
    assert refused.status_code == 403
    assert "メンバーではない" in refused.json()["message"]
    patch = client.api(
        "PATCH", f"apps/{team_app}", people["outsider"], json={"visibility": "public"}
    )
    assert patch.status_code == 403
    assert client.api("DELETE", f"apps/{team_app}", people["outsider"]).status_code == 403


def test_a_new_version_then_restore_brings_back_the_older_one(client, people, team_app):
    author = people["author"]
    put_file(client.hub, author, "work/app.ipynb", shelters_app("MARK-V2"))
    response = client.publish(author, "work/app.ipynb", "七尾市の避難所", "alpha", app_id=team_app)
    assert response.status_code == 201, response.text
    assert response.json()["live_version"] == 2
    assert "MARK-V2" in client.page(team_app, people["mate"]).text
    restored = client.api("POST", f"apps/{team_app}/restore", author, json={"version": 1})
    assert restored.status_code == 200, restored.text
    assert restored.json()["live_version"] == 1
    page = client.page(team_app, people["mate"])
    assert "MARK-V1" in page.text and "MARK-V2" not in page.text
    versions = sunaba_cli(client.hub, "showcase", "versions", str(team_app))
    assert versions.returncode == 0 and "v2" in versions.stdout and "* v1" in versions.stdout


def test_a_failing_notebook_is_refused_with_its_cell_and_the_app_stays(client, people, team_app):
    author = people["author"]
    put_file(client.hub, author, "work/broken.ipynb", notebook("x = 1", "y = x / 0  # わざと"))
    response = client.publish(author, "work/broken.ipynb", "壊れた版", "alpha", app_id=team_app)
    assert response.status_code == 422
    refusal = response.json()
    assert "公開しませんでした" in refusal["message"]
    assert "2 番目のコードセル" in refusal["message"]
    assert "ZeroDivisionError" in refusal["message"]
    assert "公開中の版はそのまま" in refusal["message"]
    assert refusal["source"] == "y = x / 0  # わざと"
    # The publish page (form post, as from the browser) shows the cell and the error too.
    form = requests.post(
        client.base + "publish",
        headers=client.headers(author),
        data={
            "notebook": "work/broken.ipynb",
            "title": "壊れた版",
            "team": "alpha",
            "visibility": "team",
            "app_id": str(team_app),
        },
        timeout=120,
    )
    assert form.status_code == 422
    assert "公開できませんでした" in form.text and "y = x / 0" in form.text
    # Nothing changed for viewers.
    app = client.api("GET", f"apps/{team_app}", author).json()
    assert app["live_version"] == 1 and len(app["versions"]) == 2
    assert "MARK-V1" in client.page(team_app, people["mate"]).text


def test_a_notebook_that_loops_forever_hits_the_time_limit(client, people, author_home):
    author = people["author"]
    put_file(client.hub, author, "work/loop.ipynb", notebook("while True:\n    pass"))
    response = client.publish(author, "work/loop.ipynb", "終わらない", "alpha")
    assert response.status_code == 422
    assert f"制限時間（{CELL_TIMEOUT} 秒）" in response.json()["message"]
    assert "終わらない" not in [a["title"] for a in client.api("GET", "apps", author).json()]


def test_a_bad_notebook_path_is_refused_in_plain_words(client, people, author_home):
    author = people["author"]
    missing = client.publish(author, "work/nai.ipynb", "ない", "alpha")
    assert missing.status_code == 400
    assert "ノートブック「work/nai.ipynb」が見つかりません" in missing.json()["message"]
    outside = client.publish(author, "../../etc/passwd.ipynb", "外", "alpha")
    assert outside.status_code == 400
    untitled = client.publish(author, "work/app.ipynb", " ", "alpha")
    assert untitled.status_code == 400 and "タイトル" in untitled.json()["message"]


def test_the_kernel_cap_turns_viewers_away_politely(client, people, team_app):
    mate = people["mate"]
    kernels = []
    try:
        for _ in range(MAX_KERNELS):
            page = client.page(team_app, mate, keep_kernel=True)
            assert page.status_code == 200
            kernels.append(kernel_id_of(page.text))
        busy = client.page(team_app, mate, keep_kernel=True)
        assert busy.status_code == 503
        assert "混雑" in busy.text
    finally:
        for kernel in kernels:
            assert client.shutdown_kernel(team_app, kernel) == 204
    assert client.page(team_app, mate).status_code == 200


def test_unpublish_takes_the_app_down_and_restore_brings_it_back(client, people, author_home):
    author = people["author"]
    put_file(client.hub, author, "work/short.ipynb", notebook("print('SHORT-LIVED')"))
    response = client.publish(
        author, "work/short.ipynb", "すぐ消すアプリ", "alpha", visibility="hub"
    )
    assert response.status_code == 201, response.text
    app_id = response.json()["id"]
    assert "SHORT-LIVED" in client.page(app_id, people["outsider"]).text
    hub = client.hub
    assert account_exists(app_account(hub, app_id))
    gone = client.api("DELETE", f"apps/{app_id}", author)
    assert gone.status_code == 200 and gone.json()["status"] == "unpublished"
    # Its Unix account, home and cgroup go with it.
    assert leftovers_of(hub, app_id) == []
    assert client.page(app_id, people["outsider"]).status_code == 404
    assert app_id not in [a["id"] for a in client.api("GET", "apps", people["outsider"]).json()]
    # Its owners still see it (to bring it back); the store kept the version.
    owners_view = client.api("GET", "apps", author).json()
    assert [a["status"] for a in owners_view if a["id"] == app_id] == ["unpublished"]
    back = client.api("POST", f"apps/{app_id}/restore", author, json={"version": 1})
    assert back.status_code == 200 and back.json()["status"] == "live"
    assert account_exists(app_account(hub, app_id))
    assert "SHORT-LIVED" in client.page(app_id, people["outsider"]).text
    status = sunaba_cli(client.hub, "showcase", "unpublish", str(app_id))
    assert status.returncode == 0, status.stderr
    assert leftovers_of(hub, app_id) == []


def test_purge_deletes_an_unpublished_app_for_good(client, people, team_app, author_home):
    hub, author = client.hub, people["author"]
    put_file(hub, author, "work/purge.ipynb", notebook("print('PURGE-ME')"))
    response = client.publish(author, "work/purge.ipynb", "消すアプリ", "alpha")
    assert response.status_code == 201, response.text
    app_id = response.json()["id"]
    store = hub.state_dir / "showcase" / "apps" / str(app_id)
    assert store.is_dir() and account_exists(app_account(hub, app_id))

    # A live app is not purged; only admins purge.
    live = sunaba_cli(hub, "showcase", "purge", str(app_id))
    assert live.returncode == 1 and "公開中です" in live.stderr
    assert client.api("POST", f"apps/{app_id}/purge", author).status_code == 403

    assert client.api("DELETE", f"apps/{app_id}", author).status_code == 200
    purged = sunaba_cli(hub, "showcase", "purge", str(app_id))
    assert purged.returncode == 0, purged.stderr
    assert f"アプリ {app_id}「消すアプリ」を完全に削除しました" in purged.stdout
    assert leftovers_of(hub, app_id) == []
    assert not store.exists()
    assert client.api("GET", f"apps/{app_id}", author).status_code == 404
    assert app_id not in [a["id"] for a in client.api("GET", "apps", author).json()]
    # The team's other app is untouched.
    assert client.page(team_app, people["mate"]).status_code == 200


def test_purge_leftovers_removes_accounts_of_apps_that_are_not_live(client, people, team_app):
    """What an older version left behind: an account and home for an app that is not live."""
    hub = client.hub
    account = app_account(hub, 9999)
    subprocess.run(
        [
            "useradd",
            "--no-create-home",
            "--home-dir",
            str(hub.home_root / account),
            "--shell",
            "/usr/sbin/nologin",
            "--user-group",
            account,
        ],
        check=True,
    )
    (hub.home_root / account / "v1").mkdir(parents=True)
    result = sunaba_cli(hub, "showcase", "purge", "--leftovers")
    assert result.returncode == 0, result.stderr
    assert account in result.stdout
    assert leftovers_of(hub, 9999) == []
    # Live apps keep theirs.
    assert account_exists(app_account(hub, team_app))
    assert client.page(team_app, people["mate"]).status_code == 200


def test_the_pages_manage_an_app_and_refuse_strangers(client, people, team_app):
    """The Japanese pages (as their forms post them) change visibility and restore versions."""
    author, outsider = people["author"], people["outsider"]
    manage = f"{client.base}manage/{team_app}"
    page = requests.get(manage, headers=client.headers(author), timeout=60)
    assert page.status_code == 200
    assert "版の一覧" in page.text and "第 2 版" in page.text and "（公開中）" in page.text
    changed = requests.post(
        manage,
        headers=client.headers(author),
        data={"action": "visibility", "visibility": "hub"},
        allow_redirects=False,
        timeout=60,
    )
    assert changed.status_code == 302
    assert client.api("GET", f"apps/{team_app}", author).json()["visibility"] == "hub"
    refused = requests.post(
        manage,
        headers=client.headers(outsider),
        data={"action": "unpublish"},
        allow_redirects=False,
        timeout=60,
    )
    assert refused.status_code == 403 and "チームのメンバーと管理者だけ" in refused.text
    set_visibility(client, people, team_app, "team")
    gallery = requests.get(client.base, headers=client.headers(people["mate"]), timeout=60)
    assert gallery.status_code == 200 and "七尾市の避難所" in gallery.text
    assert "ショーケース" in gallery.text


def test_the_team_page_lets_admins_create_teams_and_refuses_learners(client, people):
    admin = client.hub.ensure_admin()
    created = requests.post(
        client.base + "teams",
        headers=client.headers(admin),
        data={"action": "create", "name": "gamma", "title": "人口班", "users": "mate, outsider"},
        allow_redirects=False,
        timeout=60,
    )
    assert created.status_code == 302, created.text
    group = client.hub.api("GET", "/groups/team-gamma").json()
    assert sorted(group["users"]) == ["mate", "outsider"]
    assert group["properties"]["title"] == "人口班"
    refused = requests.post(
        client.base + "teams",
        headers=client.headers(people["mate"]),
        data={"action": "create", "name": "delta"},
        timeout=60,
    )
    assert refused.status_code == 403 and "講師と管理者だけ" in refused.text
    unknown = requests.post(
        client.base + "teams",
        headers=client.headers(admin),
        data={"action": "add", "name": "gamma", "users": "nobody-here"},
        timeout=60,
    )
    assert unknown.status_code == 400 and "ハブにいないユーザーです: nobody-here" in unknown.text
    mine = requests.get(
        client.base + "teams", headers=client.headers(people["outsider"]), timeout=60
    )
    assert "人口班" in mine.text and "避難所チーム" not in mine.text
