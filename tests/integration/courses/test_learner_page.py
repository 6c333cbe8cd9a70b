"""マイコース for a learner through a real hub: her own progress only, whatever the URL says, and
「JupyterLab で開く」 in her own server: fetched when missing, opened as it is when present,
refused in Japanese (nothing written) for a course or assignment that is not hers."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime

import pytest
import requests

from sunaba.checks.records import CheckEvent
from sunaba.records.db import default_records_url, session_scope

pytestmark = pytest.mark.integration

OPEN = "/user/{}/sunaba/open"


def page(world, person, path: str):
    response = person.session.get(
        f"{world.hub.url}/services/sunaba-exchange/{path}", timeout=60, allow_redirects=True
    )
    assert response.status_code < 500, world.hub.log_tail(80)
    return response


def open_as(world, person, owner: str, **query):
    """The learner-server handler called with `person`'s token (as her browser, logged in)."""
    return requests.get(
        world.hub.url + OPEN.format(owner),
        params=query,
        headers={"Authorization": f"token {person.token}"},
        allow_redirects=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def checked(sqlite_world):
    """Check records of kiso/late (an assignment the staff dashboard tests leave alone)."""
    world = sqlite_world
    when = datetime.now(UTC)
    events = [
        ("ann", "q-ann-pass", "check", "pass", None),
        ("ann", "q-ann-hint", "hint", "hint", 2),
        ("ann", "q-ann-hint", "check", "pass", None),
        ("ann", "q-both", "check", "fail", None),
        ("bob", "q-both", "check", "pass", None),
        ("bob", "q-bob-secret", "check", "fail", None),
    ]
    with session_scope(default_records_url(world.config)) as session:
        for login, question, kind, result, level in events:
            session.add(
                CheckEvent(login=login, course="kiso", assignment="late", question=question,
                           kind=kind, result=result, hint_level=level, created_at=when)
            )  # fmt: skip
            session.flush()
    return world


def late_section(html: str) -> str:
    found = re.search(r'data-assignment="late">(.*?)</section>', html, re.S)
    assert found, html[:2000]
    return found.group(1)


def test_a_learner_sees_only_her_own_progress_whatever_the_url_says(checked):
    world = checked
    ann = world.learner("ann", spawn=False)
    for path in ("mycourses", "mycourses?user=bob&login=bob&course=oyo", "mycourses?as=bob"):
        response = page(world, ann, path)
        assert response.status_code == 200, response.text[:300]
        late = late_section(response.text)
        assert 'data-question="q-ann-pass" data-state="passed"' in late
        assert 'data-question="q-ann-hint" data-state="hinted"' in late
        assert 'data-question="q-both" data-state="tried"' in late
        assert "3 問中 2 問合格（うちヒントを見て合格 1 問）、挑戦中 1 問" in late
        assert "締切を過ぎています" in late and "2020年4月1日（水） 17:00" in late
        assert "q-bob-secret" not in response.text and "応用コース" not in response.text
    bob = world.learner("bob", spawn=False)
    late = late_section(page(world, bob, "mycourses").text)
    assert 'data-question="q-both" data-state="passed"' in late
    assert "q-ann-" not in late and "3 問中" not in late
    # Staff pages and the exchange API give a learner nothing of anyone else's either.
    assert page(world, bob, "courses/kiso?learner=ann").status_code == 403
    forged = world.exchange(bob.token, "GET", "api/courses/kiso/submissions?student=ann")
    assert forged.status_code == 200 and "ann" not in forged.text


def test_open_fetches_once_then_opens_the_learners_own_folder(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob")
    home = world.hub.home_of(bob)
    folder = home / "oyo" / "oyo1"
    kept = home / "oyo" / "sunaba-test-kept-oyo1"  # another test's copy, put back afterwards
    if folder.exists():
        folder.rename(kept)
    try:
        first = open_as(world, bob, "bob", course="oyo", assignment="oyo1")
        assert first.status_code == 302, (first.status_code, first.text[:500])
        assert first.headers["Location"] == "/user/bob/lab/tree/oyo/oyo1/problem.ipynb"
        notebook = folder / "problem.ipynb"
        assert notebook.is_file() and folder.stat().st_uid == home.stat().st_uid
        notebook.write_text(notebook.read_text().replace("answer()", "answer()  # bob"))
        work = notebook.read_bytes()
        again = open_as(world, bob, "bob", course="oyo", assignment="oyo1")
        assert again.status_code == 302
        assert again.headers["Location"] == first.headers["Location"]
        assert notebook.read_bytes() == work  # never fetched again over her work
    finally:
        if kept.exists():
            shutil.rmtree(folder, ignore_errors=True)
            kept.rename(folder)


def test_open_refuses_in_japanese_and_writes_nothing(sqlite_world):
    world = sqlite_world
    ann = world.learner("ann")
    home = world.hub.home_of(ann)
    refused = {
        ("oyo", "oyo1"): "このコースに登録されていません",  # not hers
        ("kiso", "nosuch"): "この課題はありません",
        ("nosuch", "hw1"): "このコースに登録されていません",
        ("../kiso", "hw1"): "コース名か課題名の形が正しくありません",
        ("kiso", "hw1/../../x"): "コース名か課題名の形が正しくありません",
    }
    for (course, assignment), message in refused.items():
        response = open_as(world, ann, "ann", course=course, assignment=assignment)
        assert response.status_code == 400, (course, assignment, response.text[:300])
        assert message in response.text and "課題を開けませんでした" in response.text
        assert "何も変えていません" in response.text and "<script" not in response.text
    assert not (home / "oyo").exists() and not (home / "nosuch").exists()
    assert not (home / "kiso" / "nosuch").exists()


def test_nobody_opens_through_another_learners_server(sqlite_world):
    world = sqlite_world
    ann, cat = world.learner("ann"), world.learner("cat", spawn=False)
    before = sorted(p.name for p in world.hub.home_of(ann).iterdir())
    response = open_as(world, cat, "ann", course="oyo", assignment="oyo1")
    assert response.status_code in (302, 403), response.status_code
    assert "/lab/tree/" not in response.headers.get("Location", "")
    assert sorted(p.name for p in world.hub.home_of(ann).iterdir()) == before
