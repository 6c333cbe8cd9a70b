"""Reading uploads: only plain files with safe names, within limits, notebooks that parse."""

from __future__ import annotations

import io
import json
import os
import tarfile

import nbformat
import pytest

from sunaba.core.archive import ArchiveRefused, collect_files, pack, unpack, write_files

NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook()).encode()


def raw_tar(members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def regular(name: str, data: bytes = b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def symlink(name: str, target: str):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def test_round_trip_keeps_files_and_skips_editor_state(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "町丁.csv").write_bytes("人口\n1\n".encode("cp932"))
    (tmp_path / "problem.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "problem-checkpoint.ipynb").write_bytes(NOTEBOOK)
    (tmp_path / "feedback" / "x").mkdir(parents=True)
    (tmp_path / "feedback" / "x" / "problem.html").write_text("old feedback")
    os.symlink("/etc/shadow", tmp_path / "shadow")
    files = collect_files(tmp_path, max_bytes=10_000)
    assert sorted(files) == ["data/町丁.csv", "problem.ipynb"]
    archive = unpack(pack(files), max_bytes=10_000)
    assert archive.files == files and archive.notebooks == ["problem.ipynb"]


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (regular("../escape.txt"), "使えないファイル名"),
        (regular("/etc/passwd"), "使えないファイル名"),
        (regular("a/../../b"), "使えないファイル名"),
        (symlink("link", "/etc/shadow"), "リンク"),
        (regular("problem.ipynb", b"{not json"), "JSON が壊れています"),
        (regular("problem.ipynb", json.dumps({"cells": []}).encode()), "nbformat 4"),
    ],
)
def test_refused_members(member, message):
    with pytest.raises(ArchiveRefused, match=message):
        unpack(raw_tar([member]), max_bytes=10_000)


def test_sizes_are_checked_from_the_headers_before_reading():
    # The header announces 3 GB; no content follows. Refused without reading anything.
    info = tarfile.TarInfo("big.bin")
    info.size = 3 * 1024**3
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    with pytest.raises(ArchiveRefused, match="大きすぎます"):
        unpack(header, max_bytes=1024**2)
    many = raw_tar([regular(f"f{i}.txt") for i in range(20)])
    with pytest.raises(ArchiveRefused, match="多すぎます"):
        unpack(many, max_bytes=10_000, max_files=10)
    with pytest.raises(ArchiveRefused, match="tar として読めません"):
        unpack(b"garbage", max_bytes=10_000)


def test_collect_refuses_a_folder_over_the_limit(tmp_path):
    with open(tmp_path / "big.csv", "wb") as handle:
        handle.truncate(50 * 1024**2)  # sparse: costs nothing to make
    with pytest.raises(ArchiveRefused, match="大きすぎます"):
        collect_files(tmp_path, max_bytes=20 * 1024**2)


def test_write_files_never_follows_or_overwrites(tmp_path):
    write_files({"a/b.txt": b"1"}, tmp_path)
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"1"
    os.symlink("/etc/hostname", tmp_path / "c.txt")
    with pytest.raises(OSError):
        write_files({"c.txt": b"owned"}, tmp_path)
