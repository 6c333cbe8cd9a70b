"""Who may open, see, manage and publish: the visibility rules as a table."""

from __future__ import annotations

import pytest

from sunaba.showcase.access import can_manage, can_publish_to, can_see_card, can_view
from sunaba.showcase.records import ShowcaseApp
from sunaba.showcase.teams import Viewer

MEMBER = Viewer("hanako", groups=frozenset({"team-alpha", "nbgrader-ebpm"}))
OTHER = Viewer("taro", groups=frozenset({"team-beta"}))
ADMIN = Viewer("admin", admin=True)


def app(visibility: str, status: str = "live") -> ShowcaseApp:
    return ShowcaseApp(team="alpha", title="t", visibility=visibility, status=status, notebook="a")


@pytest.mark.parametrize(
    ("visibility", "member", "other", "admin", "anonymous"),
    [
        ("team", True, False, True, False),
        ("hub", True, True, True, False),
        ("public", True, True, True, True),
    ],
)
def test_visibility_decides_who_opens_a_live_app(visibility, member, other, admin, anonymous):
    live = app(visibility)
    assert can_view(live, MEMBER) is member
    assert can_view(live, OTHER) is other
    assert can_view(live, ADMIN) is admin
    assert can_view(live, None) is anonymous


@pytest.mark.parametrize("status", ["draft", "unpublished"])
def test_nobody_opens_an_app_that_is_not_live(status):
    for who in (MEMBER, OTHER, ADMIN, None):
        assert not can_view(app("public", status), who)


def test_owners_still_see_the_card_of_an_unpublished_app():
    down = app("public", "unpublished")
    assert can_see_card(down, MEMBER) and can_see_card(down, ADMIN)
    assert not can_see_card(down, OTHER) and not can_see_card(down, None)


def test_managing_is_for_the_team_and_admins_publishing_for_members_only():
    assert can_manage(app("team"), MEMBER) and can_manage(app("team"), ADMIN)
    assert not can_manage(app("public"), OTHER) and not can_manage(app("public"), None)
    assert can_publish_to("alpha", MEMBER)
    assert not can_publish_to("alpha", ADMIN)
    assert not can_publish_to("alpha", OTHER)
