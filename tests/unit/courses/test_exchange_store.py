"""The exchange store: every attempt kept with its time, nothing outside its folders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sunaba.core.archive import Archive
from sunaba.exchange.stamps import nbgrader_time, stamp_from_nbgrader_time, stamp_of
from sunaba.exchange.store import ExchangeStore, StoreError

NOW = datetime(2025, 6, 1, 1, 2, 3, 456789, tzinfo=UTC)
FILES = Archive({"problem.ipynb": b"{}", "data/a.csv": b"x"})


def test_attempts_are_all_kept_in_order_with_their_time(tmp_path):
    store = ExchangeStore(tmp_path)
    first = store.add_submission("kiso", "ann", "hw1", FILES, now=NOW, late=False)
    same_time = store.add_submission("kiso", "ann", "hw1", FILES, now=NOW, late=False)
    later = store.add_submission(
        "kiso", "ann", "hw1", FILES, now=NOW + timedelta(days=40), late=True
    )
    attempts = store.submissions("kiso", "ann", "hw1")
    assert [a.stamp for a in attempts] == [first.stamp, same_time.stamp, later.stamp]
    assert len({a.stamp for a in attempts}) == 3  # never overwritten
    assert attempts[0].submitted_at == NOW and attempts[-1].late
    assert store.latest_submissions("kiso", "hw1") == {"ann": later}
    assert store.submission_files(later) == FILES.files
    assert set(store.latest_files("kiso", "hw1")) == {
        f"ann/{later.stamp}/problem.ipynb",
        f"ann/{later.stamp}/data/a.csv",
    }


@pytest.mark.parametrize(
    ("course", "student", "assignment"),
    [("../x", "ann", "hw1"), ("kiso", "../../etc", "hw1"), ("kiso", "ann", "hw1/../../x"),
     ("kiso", "Ann", "hw1"), ("kiso", "ann", "")],
)  # fmt: skip
def test_names_from_requests_are_checked_before_any_path_is_built(
    tmp_path, course, student, assignment
):
    store = ExchangeStore(tmp_path)
    with pytest.raises(StoreError):
        store.add_submission(course, student, assignment, FILES, now=NOW, late=False)
    assert not any(tmp_path.rglob("*"))


def test_release_is_idempotent_and_feedback_needs_a_real_attempt(tmp_path):
    store = ExchangeStore(tmp_path)
    assert store.release("kiso", "hw1", {"a.ipynb": b"1"}) is True
    assert store.release("kiso", "hw1", {"a.ipynb": b"1"}) is False
    assert store.release("kiso", "hw1", {"a.ipynb": b"2"}) is True
    assert store.released_files("kiso", "hw1") == {"a.ipynb": b"2"}
    with pytest.raises(StoreError):
        store.put_feedback("kiso", "ann", "hw1", stamp_of(NOW), {"a.html": b"x"})
    attempt = store.add_submission("kiso", "ann", "hw1", FILES, now=NOW, late=False)
    assert store.put_feedback("kiso", "ann", "hw1", attempt.stamp, {"a.html": b"x"})
    assert store.feedback_stamps("kiso", "ann", "hw1") == [attempt.stamp]
    with pytest.raises(StoreError):
        store.feedback_files("kiso", "bob", "hw1", attempt.stamp)


def test_attempt_names_survive_nbgrader_timestamps():
    stamp = stamp_of(NOW)
    assert stamp == "20250601T010203.456789Z"
    assert stamp_from_nbgrader_time(nbgrader_time(stamp)) == stamp
