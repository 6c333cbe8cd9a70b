"""The admins' roster page, the hub service `roster`, on a real hub: an admin logged into the hub
reaches it through hub OAuth; upload → preview → confirm creates the accounts and course
memberships; a learner gets 403; a roster with a problem changes nothing and names the row; the
form needs the XSRF token."""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from pathlib import Path

import openpyxl
import pytest
import requests

from tests.support.hub import Learner, SunabaHub

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub():
    """A hub of this module's own, given time to come up on a busy machine."""
    if os.geteuid() != 0:
        pytest.fail("the hub creates Unix users: run as root (make test)")
    test_hub = SunabaHub()
    try:
        test_hub.start(timeout=300)
        yield test_hub
    finally:
        test_hub.close()


ROSTER = (
    "ユーザー名,氏名,所属,コース\n"
    "rp-sato,佐藤 花子,企画課,roster-page\n"
    "ＲＰ－ＳＵＺＵＫＩ,鈴木 一郎,税務課,roster-page、roster-page2\n"
)


def page(hub) -> str:
    return f"{hub.url}/services/roster/"


def form_token(hub, who: Learner) -> str:
    """The `_xsrf` of the page's form, as a browser gets it: the page is opened (through the
    hub's OAuth login the first time, without a confirmation: the service is Sunaba's own)."""
    response = who.session.get(page(hub), timeout=60)
    found = re.search(r'name="_xsrf" value="([^"]+)"', response.text)
    return found.group(1) if found else ""


def upload(hub, who: Learner, content: bytes, name="名簿.csv", xsrf=True):
    data = {"action": "preview"}
    if xsrf:
        data["_xsrf"] = form_token(hub, who)
    return who.session.post(
        page(hub), data=data, files={"roster": (name, content, "text/csv")}, timeout=120
    )


def confirm(hub, who: Learner, upload_id: str):
    data = {"action": "apply", "upload": upload_id, "_xsrf": form_token(hub, who)}
    return who.session.post(page(hub), data=data, timeout=120)


def hub_users(hub) -> set[str]:
    return {u["name"] for u in hub.api("GET", "/users").json()}


def test_admin_uploads_previews_and_confirms(hub):
    admin = hub.ensure_admin()
    form = admin.session.get(page(hub), timeout=60)
    assert form.status_code == 200, hub.log_tail(40)
    assert form.url == page(hub)  # back from the hub's OAuth login
    assert "名簿の取り込み" in form.text and 'name="_xsrf"' in form.text
    assert 'href="/hub/home"' in form.text  # Sunaba's page layout, with the way back to the hub
    template = admin.session.get(f"{page(hub)}template.xlsx", timeout=30)
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book["名簿"][1]][:2] == ["ユーザー名", "氏名"]

    before = hub_users(hub)
    preview = upload(hub, admin, ROSTER.encode("utf-8-sig"))
    assert preview.status_code == 200, preview.text[-2000:]
    assert "まだ何も変更していません" in preview.text
    created_row = re.search(r'id="preview-created">(.*?)</tr>', preview.text, re.S).group(1)
    assert "<td>2</td>" in created_row and "rp-sato" in created_row and "rp-suzuki" in created_row
    assert "roster-page2" in preview.text and "グループを新しく作ります" in preview.text
    assert hub_users(hub) == before  # the preview changed nothing
    upload_id = re.search(r'name="upload" value="([0-9a-f]+)"', preview.text).group(1)
    [kept] = (hub.state_dir / "roster-uploads").glob(f"{upload_id}.*")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700

    done = confirm(hub, admin, upload_id)
    assert done.status_code == 200, done.text[-2000:]
    assert "名簿を取り込みました" in done.text
    passwords_path = Path(
        re.search(r"仮パスワードのファイル: <code>(.*?)</code>", done.text).group(1)
    )
    assert passwords_path.parent == hub.state_dir
    assert stat.S_IMODE(passwords_path.stat().st_mode) == 0o600
    rows = list(csv.reader(passwords_path.read_text(encoding="utf-8-sig").splitlines()))[1:]
    passwords = {row[0]: row[2] for row in rows}
    assert set(passwords) == {"rp-sato", "rp-suzuki"}
    for password in passwords.values():
        assert password not in done.text  # never shown in the page

    assert {"rp-sato", "rp-suzuki"} <= hub_users(hub)
    groups = {g["name"]: set(g["users"]) for g in hub.api("GET", "/groups").json()}
    assert groups["nbgrader-roster-page"] >= {"rp-sato", "rp-suzuki"}
    assert groups["nbgrader-roster-page2"] >= {"rp-suzuki"}
    learner = Learner(name="rp-suzuki", password=passwords["rp-suzuki"])
    hub.login(learner)
    assert learner.token

    assert not kept.exists()
    again = confirm(hub, admin, upload_id)
    assert again.status_code == 400  # the confirmed upload is gone


def test_a_learner_gets_403(hub):
    learner = hub.new_learner("rp-learner")
    # The hub gives a learner no way into the service (no OAuth token for it) ...
    assert learner.session.get(page(hub), timeout=30).status_code == 403
    assert learner.session.get(f"{page(hub)}template.csv", timeout=30).status_code == 403
    # ... and the service itself refuses a learner's own token, in Japanese.
    direct = requests.get(
        page(hub), headers={"Authorization": f"token {learner.token}"}, timeout=30
    )
    assert direct.status_code == 403 and "権限がありません" in direct.text
    refused = upload(hub, learner, ROSTER.encode())
    assert refused.status_code == 403
    assert "rp-sato" not in refused.text


def test_a_roster_with_a_problem_changes_nothing_and_names_the_row(hub):
    admin = hub.ensure_admin()
    before = hub_users(hub)
    broken = "ユーザー名,氏名\nrp-yamada,山田 太郎\nrp yamada!,山田 次郎\n".encode()
    answer = upload(hub, admin, broken, name="broken.csv")
    assert answer.status_code == 422
    assert "3行目" in answer.text and "何も変更していません" in answer.text
    assert 'name="upload"' not in answer.text  # nothing to confirm
    assert hub_users(hub) == before


def test_the_form_needs_the_xsrf_token(hub):
    admin = hub.ensure_admin()
    assert form_token(hub, admin)  # logged into the service: its cookie alone is not enough
    answer = upload(hub, admin, "ユーザー名\nrp-noxsrf\n".encode(), xsrf=False)
    assert answer.status_code == 403
    assert "フォームの確認用の値" in answer.text
    assert "rp-noxsrf" not in hub_users(hub)
