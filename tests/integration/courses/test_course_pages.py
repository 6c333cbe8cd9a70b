"""マイコース and the instructor's course page, opened through hub OAuth like a browser does."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def page(world, person, path: str):
    """GET a page of the exchange with the person's hub login cookies, following the OAuth
    redirects (no confirmation page: the service is trusted)."""
    response = person.session.get(
        f"{world.hub.url}/services/sunaba-exchange/{path}", timeout=60, allow_redirects=True
    )
    assert response.status_code < 500, world.hub.log_tail(80)
    return response


def test_my_courses_lists_own_courses_with_due_dates_and_status(sqlite_world):
    world = sqlite_world
    bob = world.learner("bob")
    world.submitted(bob, "kiso", "hw1")
    response = page(world, bob, "mycourses")
    assert response.status_code == 200, response.text[:500]
    text = response.text
    assert "マイコース" in text and "基礎コース" in text and "応用コース" in text
    assert "2099年3月31日（火） 17:00" in text
    assert "提出済み" in text and "シラバスの本文" in text

    cat = world.learner("cat", spawn=False)
    other = page(world, cat, "mycourses").text
    assert "応用コース" in other and "基礎コース" not in other


def test_instructor_sees_every_learner_and_learners_cannot(sqlite_world):
    world = sqlite_world
    teach = world.learner("teach", spawn=False)
    response = page(world, teach, "courses/kiso")
    assert response.status_code == 200, response.text[:500]
    for login in ("ann", "bob", "dee"):
        assert f'data-learner="{login}"' in response.text
    assert "採点画面を開く" in response.text and "formgrader-kiso/formgrader" in response.text
    mine = page(world, teach, "mycourses").text
    assert "講師用ページ" in mine

    bob = world.learner("bob", spawn=False)
    denied = page(world, bob, "courses/kiso")
    assert denied.status_code == 403
    assert "講師・採点者だけ" in denied.text
    other_staff = page(world, world.learner("teach2", spawn=False), "courses/kiso")
    assert other_staff.status_code == 403


def test_a_person_in_no_course_is_told_so_and_whom_to_ask(sqlite_world):
    world = sqlite_world
    gil = world.learner("gil", spawn=False)
    response = page(world, gil, "mycourses")
    assert response.status_code == 200, response.text[:500]
    text = response.text
    assert "<h1>マイコース</h1>" in text
    assert "まだどのコースにも登録されていません" in text
    assert "研修の担当者" in text and "<code>gil</code>" in text and "管理者" in text
    assert "基礎コース" not in text and "応用コース" not in text
    # Being let in to see that changes nothing about what a course shows to whom.
    assert page(world, gil, "courses/kiso").status_code == 403
    files = world.exchange(gil.token, "GET", "api/courses/kiso/assignments/hw1/files")
    assert files.status_code == 403
