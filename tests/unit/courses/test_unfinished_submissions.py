"""What a killed exchange leaves: a submission it was writing is never seen and is removed when
it starts again (stored attempts and others' temporary folders stay); a folder it was replacing
is either the old one or the new one, never missing."""

from __future__ import annotations

from datetime import UTC, datetime

from sunaba.core.archive import Archive
from sunaba.exchange.store import ExchangeStore

NOW = datetime(2025, 6, 1, 1, 2, 3, tzinfo=UTC)
FILES = Archive({"problem.ipynb": b"{}"})


def test_half_written_attempts_are_invisible_and_removed_at_start(tmp_path):
    store = ExchangeStore(tmp_path)
    kept = store.add_submission("kiso", "ann", "hw1", FILES, now=NOW, late=False)
    folder = tmp_path / "kiso" / "submissions" / "ann" / "hw1"
    half = folder / ".tmp-abc123"
    (half / "files").mkdir(parents=True)
    (half / "files" / "problem.ipynb").write_bytes(b'{"cells": [')
    # A release being written by a course sync at the same time is not the exchange's to remove.
    releasing = tmp_path / "kiso" / "released" / ".tmp-def456"
    releasing.mkdir(parents=True)

    assert [s.stamp for s in store.submissions("kiso", "ann", "hw1")] == [kept.stamp]
    assert store.remove_unfinished_submissions() == [half]
    assert not half.exists() and releasing.is_dir()
    assert store.submission_files(kept) == FILES.files
    assert store.remove_unfinished_submissions() == []


def test_replacing_released_files_and_feedback_swaps_in_one_step(tmp_path, monkeypatch):
    from sunaba.exchange import store as store_module

    store = ExchangeStore(tmp_path)
    store.release("kiso", "hw1", {"a.ipynb": b"1"})
    attempt = store.add_submission("kiso", "ann", "hw1", FILES, now=NOW, late=False)
    store.put_feedback("kiso", "ann", "hw1", attempt.stamp, {"a.html": b"x"})
    # Both replacements are one renameat2(RENAME_EXCHANGE) each: there is no moment without
    # the folder, even for a process killed half-way.
    swapped = []
    real_swap = store_module._swap
    monkeypatch.setattr(
        store_module, "_swap", lambda a, b: swapped.append(real_swap(a, b)) or swapped[-1]
    )
    assert store.release("kiso", "hw1", {"a.ipynb": b"2"})
    assert store.put_feedback("kiso", "ann", "hw1", attempt.stamp, {"a.html": b"y"})
    assert store.released_files("kiso", "hw1") == {"a.ipynb": b"2"}
    assert store.feedback_files("kiso", "ann", "hw1", attempt.stamp) == {"a.html": b"y"}
    assert swapped == [True, True]
    assert [p.name for p in tmp_path.rglob(".*")] == []  # nothing left beside them
