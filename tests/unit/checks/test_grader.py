"""Grader files, the autograder assertion and the hub hooks of the checks area."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunaba.checks import assert_check
from sunaba.checks.grader import GraderDirectory, GraderError, Question
from sunaba.checks.hub import ACCESS, roles, server_scopes, service_port, services
from sunaba.config.schema import SiteConfig
from sunaba.core.layout import graders_dir
from sunaba.hub.apply import HubFacts
from tests.support.checks import ASSIGNMENT, COURSE, right_population, write_graders


@pytest.fixture
def graders(tmp_path) -> Path:
    return write_graders(tmp_path / "graders")


def test_directory_lists_and_loads(graders):
    directory = GraderDirectory(graders)
    assert directory.courses() == [COURSE]
    assert directory.assignments(COURSE) == [ASSIGNMENT]
    assert directory.question(COURSE, ASSIGNMENT, "q1").judge(7392.6149).ok
    assert directory.question(COURSE, ASSIGNMENT, "q2").judge(right_population()).ok


def test_unknown_or_malformed_names(graders):
    directory = GraderDirectory(graders)
    with pytest.raises(GraderError, match="問題「q9」はありません"):
        directory.question(COURSE, ASSIGNMENT, "q9")
    with pytest.raises(GraderError, match="確認できる問題がありません"):
        directory.question(COURSE, "ex99", "q1")
    with pytest.raises(GraderError):
        directory.question("../etc", "passwd", "q1")
    with pytest.raises(GraderError):
        directory.question(COURSE, ASSIGNMENT, "../q1")


def test_hints_go_from_gentle_to_explicit_and_stay_at_the_last(graders):
    question = GraderDirectory(graders).question(COURSE, ASSIGNMENT, "q1")
    assert [question.hint(n) for n in (1, 2, 3, 4)] == [
        "平均を求めます",
        "mean() を使います",
        "df['値'].mean() です",
        "df['値'].mean() です",
    ]


def test_question_needs_expected_or_check():
    with pytest.raises(ValueError):
        Question("q1")


def test_assert_check_in_an_autograder_cell(graders, monkeypatch):
    monkeypatch.setenv("SUNABA_GRADERS_DIR", str(graders))
    monkeypatch.setenv("SUNABA_CHECK_COURSE", COURSE)
    monkeypatch.setenv("SUNABA_CHECK_ASSIGNMENT", ASSIGNMENT)
    assert_check("q2", right_population())
    wrong = right_population()
    wrong.loc[2, "人口"] = 1
    with pytest.raises(AssertionError, match="1 行の値が違います") as caught:
        assert_check("q2", wrong)
    assert "33333" not in str(caught.value)


def test_hub_hooks(graders, tmp_path):
    config = SiteConfig.model_validate(
        {"hub": {"state_dir": str(tmp_path / "state")}, "checks": {"graders": str(graders)}}
    )
    facts = HubFacts(sandbox_mode="full", hub_config_dir=tmp_path / "hub_config")
    [service] = services(config, facts)
    assert service["name"] == "sunaba-checks"
    assert service["url"] == f"http://127.0.0.1:{service_port(config)}"
    assert 30000 <= service_port(config) < 32000
    assert service["environment"]["SUNABA_CHECKS_GRADERS"] == str(graders)
    [role] = roles(config, facts)
    assert role["groups"] == [f"nbgrader-{COURSE}", f"formgrade-{COURSE}"]
    assert ACCESS in role["scopes"] and ACCESS in server_scopes(config)
    default = SiteConfig.model_validate({"hub": {"state_dir": str(tmp_path / "s")}})
    assert graders_dir(default, tmp_path / "hub_config") == tmp_path / "graders"
    assert roles(default, facts)[0]["groups"][0] == f"nbgrader-{COURSE}"
    elsewhere = HubFacts(sandbox_mode="full", hub_config_dir=tmp_path / "none" / "hub_config")
    assert roles(default, elsewhere) == []


def test_bad_size_is_a_config_error():
    with pytest.raises(ValueError, match="size"):
        SiteConfig.model_validate({"checks": {"max_answer_size": "lots"}})
