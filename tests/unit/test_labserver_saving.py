"""sunaba.labserver.saving on a real contents manager: a save that fails for lack of space
answers 507 in Japanese and leaves the file as it was, however late the write fails."""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3

import nbformat
import pytest
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

from sunaba.labserver import saving


def _notebook(text: str) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    return {"type": "notebook", "format": "json", "content": nb}


def _manager(tmp_path) -> AsyncLargeFileManager:
    manager = AsyncLargeFileManager(root_dir=str(tmp_path))
    saving.install(manager)
    return manager


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_a_full_disk_keeps_the_file_and_answers_in_japanese(tmp_path, monkeypatch, where):
    manager = _manager(tmp_path)
    asyncio.run(manager.save(_notebook("x = 1"), "work.ipynb"))
    before = (tmp_path / "work.ipynb").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "write":
        monkeypatch.setattr(nbformat, "write", full)
    else:
        monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(manager.save(_notebook("x = 2" * 1000), "work.ipynb"))
    assert refused.value.status_code == 507
    assert "ディスクの空き容量がない" in refused.value.log_message
    assert "work.ipynb" in refused.value.log_message
    assert (tmp_path / "work.ipynb").read_bytes() == before
    assert not list(tmp_path.glob(".~*")), "a temporary file was left behind"


def test_other_errors_pass_unchanged_and_saves_keep_the_mode(tmp_path, monkeypatch):
    manager = _manager(tmp_path)
    asyncio.run(manager.save(_notebook("x = 1"), "work.ipynb"))
    os.chmod(tmp_path / "work.ipynb", 0o640)
    asyncio.run(manager.save(_notebook("x = 3"), "work.ipynb"))
    assert (tmp_path / "work.ipynb").stat().st_mode & 0o777 == 0o640
    nbformat.validate(nbformat.read(tmp_path / "work.ipynb", as_version=4))

    def denied(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(nbformat, "write", denied)
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(manager.save(_notebook("x = 4"), "work.ipynb"))
    assert refused.value.status_code == 500


def test_full_disk_errors_are_recognised_through_their_causes():
    def raised_from(cause):
        try:
            try:
                raise cause
            except Exception as error:
                raise web.HTTPError(500, "Unexpected error while saving file") from error
        except web.HTTPError as error:
            return error

    assert saving.disk_full(raised_from(OSError(errno.EDQUOT, "Disk quota exceeded")))
    assert not saving.disk_full(raised_from(OSError(errno.EACCES, "Permission denied")))
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = saving.SQLITE_FULL
    assert saving.disk_full(raised_from(full))
    assert not saving.disk_full(raised_from(sqlite3.OperationalError("database is locked")))
