"""During a class of 30 learners the instructor opens the course dashboard in a real browser:
the hardest question comes first, the charts have the right number of bars and their text
alternative, the table is one click away, and the Excel download opens with the per-question
scores. Screenshots go to artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from sunaba.checks.records import CheckEvent
from sunaba.courses.insight_records import record_question_scores
from sunaba.courses.records import Enrolment, Progress
from sunaba.records import PersonData, session_scope, upsert_people
from sunaba.records.db import default_records_url
from tests.e2e.browser import logged_in_page
from tests.support.courses import start_course_world, stop_course_world

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CLASS = [f"s{i:02d}" for i in range(1, 31)]
# Per question: how many of the 30 have passed, and how many checks each needed before.
PASSED = {"q-easy": 27, "q-mid": 18, "q-hard": 6}


@pytest.fixture(scope="module")
def world():
    course_world = start_course_world("sqlite")
    try:
        fill_class(default_records_url(course_world.config))
        yield course_world
    finally:
        stop_course_world(course_world)


def fill_class(url: str) -> None:
    """30 learners in kiso working on hw1: everyone tried every question; q-hard stops most."""
    start = datetime.now(UTC) - timedelta(minutes=40)
    with session_scope(url) as s:
        upsert_people(s, [PersonData(login, f"受講者 {login[1:]}") for login in CLASS])
        for n, login in enumerate(CLASS):
            s.add(Enrolment(course_id="kiso", login=login, role="learner", active=True))
            s.add(Progress(course_id="kiso", assignment_id="hw1", login=login,
                           status="graded" if n < 20 else "fetched", attempts=1,
                           submitted_at=start if n < 20 else None, score=None, max_score=None))  # fmt: skip
            for q, (question, passed) in enumerate(PASSED.items()):
                when = start + timedelta(minutes=5 * q + n / 10)
                s.add(CheckEvent(login=login, course="kiso", assignment="hw1",
                                 question=question, kind="check", result="fail",
                                 created_at=when))  # fmt: skip
                if n < passed:
                    s.add(CheckEvent(login=login, course="kiso", assignment="hw1",
                                     question=question, kind="check", result="pass",
                                     created_at=when + timedelta(minutes=1)))  # fmt: skip
                s.flush()
            if n < 20:
                items = [
                    {"notebook": "problem", "cell": f"test_{question}", "question": question,
                     "score": 1.0 if n < passed else 0.0, "max_score": 1}
                    for question, passed in PASSED.items()
                ]  # fmt: skip
                record_question_scores(s, "kiso", "hw1", login, items)


def test_instructor_sees_the_hardest_question_first_and_downloads_excel(
    world, browser, artifacts, tmp_path
):
    teach = world.learner("teach", spawn=False)
    page = logged_in_page(browser, world.hub.url, teach)
    try:
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.goto(f"{world.hub.url}/services/sunaba-exchange/courses/kiso?assignment=hw1")
        chart = page.locator("#chart-questions")
        chart.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "dashboard-class.png"), full_page=True)
        labels = chart.locator("rect.bar title").all_text_contents()
        assert [label.split(":")[0] for label in labels] == ["q-hard", "q-mid", "q-easy"]
        svg = chart.locator("svg[role=img]")
        ids = svg.get_attribute("aria-labelledby").split()
        described = " ".join(page.locator(f"#{i}").text_content() for i in ids)
        assert "いちばんつまずいているのは q-hard" in described
        assert "挑戦した 30 人のうち 24 人がまだ合格していません" in described
        bars = {"overview": 2, "questions": 3, "funnel": 5, "scores": 5}
        for name, count in bars.items():
            assert page.locator(f"#chart-{name} .bar").count() == count, name
        # The data table is one click away.
        table = chart.locator("details table")
        assert not table.is_visible()
        chart.get_by_text("表で見る").click()
        assert table.is_visible()
        assert "q-hard" in table.locator("tr").nth(1).inner_text()
        assert page.locator("tr[data-learner]").count() == 33  # 30 + ann, bob, dee
        with page.expect_download() as caught:
            page.get_by_role("link", name="成績を Excel で保存").click()
        target = tmp_path / "grades.xlsx"
        caught.value.save_as(target)
        sheet = load_workbook(target)["成績"]
        rows = list(sheet.values)
        header = list(rows[0])
        s01 = dict(zip(header, next(r for r in rows if r[0] == "s01"), strict=True))
        s07 = dict(zip(header, next(r for r in rows if r[0] == "s07"), strict=True))
        assert s01["宿題1 / q-hard"] == 1 and s07["宿題1 / q-hard"] == 0
        assert s07["宿題1 / q-easy"] == 1
    finally:
        page.context.close()
