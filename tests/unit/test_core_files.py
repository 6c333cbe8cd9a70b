"""The atomic-write helper: content, mode (whatever the umask), skip when unchanged, and a
failure that leaves the old file and no temporary file behind."""

from __future__ import annotations

import os
import stat

import pytest

from sunaba.core import files
from sunaba.core.files import write_atomic, write_if_changed


@pytest.fixture
def strict_umask():
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_text_as_utf8_and_bytes_as_is(tmp_path):
    text = tmp_path / "text.txt"
    write_atomic(text, "日本語\n")
    assert text.read_bytes() == "日本語\n".encode()
    raw = tmp_path / "raw.bin"
    write_atomic(raw, b"\x00\xff")
    assert raw.read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.bin", "text.txt"]


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755])
def test_sets_the_mode_whatever_the_umask(tmp_path, strict_umask, mode):
    target = tmp_path / "file"
    write_atomic(target, "x", mode=mode)
    assert mode_of(target) == mode
    assert write_if_changed(target, "y", mode=mode)
    assert mode_of(target) == mode


def test_replaces_existing_content_and_mode(tmp_path):
    target = tmp_path / "secret"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    write_atomic(target, "new", mode=0o600, fsync=True)
    assert target.read_text(encoding="utf-8") == "new"
    assert mode_of(target) == 0o600


def test_write_if_changed_leaves_the_same_content_untouched(tmp_path):
    target = tmp_path / "settings.json"
    assert write_if_changed(target, "{}\n") is True
    before = os.stat(target)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns - 10_000_000_000))
    before = os.stat(target)
    assert write_if_changed(target, "{}\n") is False
    assert write_if_changed(target, b"{}\n") is False
    after = os.stat(target)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_write_if_changed_writes_new_content(tmp_path):
    target = tmp_path / "settings.json"
    target.write_text("old", encoding="utf-8")
    assert write_if_changed(target, "new", mode=0o600) is True
    assert target.read_text(encoding="utf-8") == "new"
    assert mode_of(target) == 0o600


@pytest.mark.parametrize("write", [write_atomic, write_if_changed])
def test_failure_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch, write):
    target = tmp_path / "state.yaml"
    target.write_text("old", encoding="utf-8")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.yaml"]


def test_temporary_lives_beside_the_target(tmp_path, monkeypatch):
    seen = []

    def record(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), dst))
        raise OSError("stop")

    monkeypatch.setattr(files.os, "replace", record)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "menu.json", "{}")
    ((folder, name, dst),) = seen
    assert folder == str(tmp_path)
    assert name.startswith(".menu.json.") and name.endswith(".tmp")
    assert str(dst) == str(tmp_path / "menu.json")
