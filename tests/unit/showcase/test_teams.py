"""Teams are hub groups `team-<name>`; names are checked before they reach the hub."""

from __future__ import annotations

import pytest

from sunaba.showcase.teams import TeamError, Viewer, check_team_name, team_from_group


@pytest.mark.parametrize("name", ["hinan-map", "team-hinan-map", "a", "2024-kadai"])
def test_good_team_names(name):
    assert check_team_name(name) == name.removeprefix("team-")


@pytest.mark.parametrize("name", ["", "Hinan", "避難所", "-x", "a" * 32, "a b", "a/b", "a_b"])
def test_bad_team_names_are_explained_in_japanese(name):
    with pytest.raises(TeamError, match="使えません"):
        check_team_name(name)


def test_groups_become_teams_with_their_properties():
    team = team_from_group(
        {
            "name": "team-hinan",
            "users": ["b", "a"],
            "properties": {"title": "避難所チーム", "course": "ebpm"},
        }
    )
    assert (team.name, team.label, team.course, team.members) == (
        "hinan",
        "避難所チーム",
        "ebpm",
        ("a", "b"),
    )
    assert team_from_group({"name": "nbgrader-ebpm", "users": []}) is None


def test_viewer_teams_and_who_manages_teams():
    learner = Viewer("a", groups=frozenset({"team-x", "nbgrader-ebpm"}))
    grader = Viewer("b", groups=frozenset({"formgrade-ebpm"}))
    assert learner.teams == {"x"} and learner.in_team("x") and not learner.can_manage_teams
    assert grader.can_manage_teams and Viewer("c", admin=True).can_manage_teams
