"""The solution notebook and the store's due-date rule, without a hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import nbformat
import pytest

from sunaba.exchange.solutions import publish, refusal, solution_files
from sunaba.exchange.store import ExchangeStore, StoreError
from tests.support.courses import HIDDEN_MARK, source_notebook

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path):
    source = tmp_path / "exercises" / "kiso" / "hw1"
    source.mkdir(parents=True)
    nbformat.write(source_notebook(answer=7), str(source / "problem.ipynb"))
    (source / "notes.py").write_text("SECRET = 1\n")  # only notebooks travel
    return source


def test_the_solution_keeps_answers_and_visible_tests_and_drops_hidden_ones(folder):
    files = solution_files(folder)
    assert list(files) == ["problem.ipynb"]
    text = files["problem.ipynb"].decode("utf-8")
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    sources = "\n".join(cell.source for cell in notebook.cells)
    assert "return 7" in sources and "理由の模範解答" in sources
    assert "assert isinstance(answer(), int)" in sources
    for gone in (HIDDEN_MARK, "HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION"):
        assert gone not in text
    assert all("nbgrader" not in cell.metadata for cell in notebook.cells)


def test_the_store_refuses_solutions_before_the_due_date(tmp_path, folder):
    store = ExchangeStore(tmp_path / "exchange")
    for due in (None, NOW + timedelta(seconds=1)):
        with pytest.raises(StoreError) as refused:
            publish(store, "kiso", "hw1", folder, due=due, now=NOW)
        assert refused.value.status == 403
        assert not store.has_solutions("kiso", "hw1")
    assert "2026年12月3日（木） 18:00" in refusal(NOW + timedelta(seconds=1), NOW)
    assert refusal(NOW, NOW) is None

    assert publish(store, "kiso", "hw1", folder, due=NOW, now=NOW)
    assert not publish(store, "kiso", "hw1", folder, due=NOW, now=NOW)  # unchanged
    stored = json.loads(store.solution_files("kiso", "hw1")["problem.ipynb"])
    assert HIDDEN_MARK not in json.dumps(stored, ensure_ascii=False)


def test_feedback_from_a_formgrader_brings_the_solution_only_after_the_due_date(tmp_path):
    """The exchange's hook after a formgrader releases feedback (no hub needed)."""
    from sunaba.classroom.staff_api import after_feedback
    from sunaba.config.schema import SiteConfig
    from sunaba.core.layout import exchange_root
    from tests.support.courses import FAR_FUTURE, KISO_DUE_PAST, write_course

    courses, exercises = tmp_path / "courses", tmp_path / "exercises"
    write_course(
        courses,
        exercises,
        "kiso",
        instructors=["teach"],
        learners=["ann"],
        assignments=[
            {"id": "hw1", "title": {"ja": "宿題1"}, "due": FAR_FUTURE},
            {"id": "late", "title": {"ja": "締切済み"}, "due": KISO_DUE_PAST},
        ],
    )
    config = SiteConfig.model_validate(
        {
            "hub": {"state_dir": str(tmp_path / "state")},
            "courses": {"directory": str(courses), "exercises": str(exercises)},
        }
    )
    store = ExchangeStore(exchange_root(config))
    lines = after_feedback(config, "kiso", "hw1")
    assert any("まだ公開していません" in line for line in lines)
    assert not store.has_solutions("kiso", "hw1")
    lines = after_feedback(config, "kiso", "late")
    assert any("解答例を公開しました" in line for line in lines)
    text = store.solution_files("kiso", "late")["problem.ipynb"].decode()
    assert "return 42" in text and HIDDEN_MARK not in text
    assert after_feedback(config, "kiso", "nothing") == []  # logged, never raised
