"""course.yaml: what a valid course is, and the Japanese messages for what is not."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from sunaba.courses.model import JST, CourseError, load_catalogue, load_course_file, parse_course

VALID = {
    "id": "kiso",
    "title": {"ja": "基礎", "en": "Basics"},
    "instructors": ["teach"],
    "enrolment": {"users": ["ann"], "groups": ["roster-2025"], "departments": ["企画課"]},
    "assignments": [
        {"id": "hw1", "title": {"ja": "宿題1"}, "opens": "2025-04-01", "due": "2025-06-30"},
        {"id": "hw2", "title": {"ja": "宿題2"}, "due": "2025-07-31 17:00", "late": "refuse"},
    ],
}


def problems(data) -> dict[str, str]:
    with pytest.raises(CourseError) as caught:
        parse_course(data, "course.yaml")
    return {p.path: p.message for p in caught.value.problems}


def test_valid_course_and_japan_time_dates():
    course = parse_course(VALID, "course.yaml")
    hw1, hw2 = course.assignments
    assert hw1.opens == datetime(2025, 4, 1, 0, 0, tzinfo=JST)
    assert hw1.due == datetime(2025, 6, 30, 23, 59, 59, tzinfo=JST)  # a day means its end
    assert hw2.due == datetime(2025, 7, 31, 17, 0, tzinfo=JST)
    assert hw2.late.value == "refuse" and hw1.late.value == "accept"
    assert hw1.folder == "hw1"
    assert not hw1.is_open(datetime(2025, 3, 31, tzinfo=JST))


def test_unknown_keys_bad_values_and_missing_keys_are_named_in_japanese():
    data = {**VALID, "titel": "x", "instructors": []}
    data["assignments"] = [{"id": "HW 1", "title": {"ja": "x"}, "due": "来週", "points": -1}]
    found = problems({k: v for k, v in data.items() if k != "title"})
    assert found["titel"].startswith("知らない項目")
    assert found["title"] == "必須の項目がありません"
    assert "少なくとも 1 つ" in found["instructors"]
    assert "使えない文字" in found["assignments.0.id"]
    assert "日時として読めません" in found["assignments.0.due"]
    assert "0 以上" in found["assignments.0.points"]


def test_order_of_dates_duplicates_and_user_names():
    late_first = {**VALID, "assignments": [
        {"id": "a", "title": {"ja": "a"}, "opens": "2025-05-01", "due": "2025-04-01"}]}  # fmt: skip
    assert "opens（公開）より後" in problems(late_first)["assignments.0"]
    twice = {**VALID, "assignments": [VALID["assignments"][0], VALID["assignments"][0]]}
    assert "重複" in problems(twice)["(全体)"]
    bad_user = {**VALID, "enrolment": {"users": ["Ann Smith"]}}
    assert "Ann Smith" in problems(bad_user)["enrolment.users"]
    escape = {**VALID, "assignments": [{"id": "a", "title": {"ja": "a"}, "source": "../x"}]}
    assert "フォルダ名" in problems(escape)["assignments.0.source"]


def test_a_course_cannot_take_a_showcase_apps_account_name():
    assert "ショーケースのアプリ名" in problems({**VALID, "id": "app3"})["id"]
    assert parse_course({**VALID, "id": "apple"}, "course.yaml").id == "apple"


def test_file_errors_name_the_file_and_place(tmp_path):
    folder = tmp_path / "kiso"
    folder.mkdir()
    path = folder / "course.yaml"
    path.write_text("id: kiso\ntitle: [\n", encoding="utf-8")
    with pytest.raises(CourseError) as caught:
        load_course_file(path)
    problem = caught.value.problems[0]
    assert problem.source == str(path) and "行" in problem.path and "YAML" in problem.message
    path.write_bytes("id: kiso".encode("cp932") + "\ntitle: {ja: 基礎}".encode("cp932"))
    with pytest.raises(CourseError, match="UTF-8"):
        load_course_file(path)
    path.write_text(yaml.safe_dump({**VALID, "id": "other"}), encoding="utf-8")
    with pytest.raises(CourseError, match="フォルダ名"):
        load_course_file(path)


def test_a_broken_course_does_not_hide_the_others(tmp_path):
    for name, data in (("kiso", VALID), ("oyo", {**VALID, "id": "oyo", "due": 1})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "course.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
        )
    catalogue = load_catalogue(tmp_path)
    assert list(catalogue.courses) == ["kiso"]
    assert [p.path for p in catalogue.problems["oyo"]] == ["due"]
