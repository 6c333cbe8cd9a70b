"""Taking a snapshot: which files a notebook names, what the reader refuses, and how the
service unpacks what the reader sends (never trusting it)."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from sunaba.showcase import store
from sunaba.showcase.sandboxed import snapshot_reader as reader


def nb(*cells: tuple[str, str]) -> str:
    return json.dumps(
        {
            "cells": [{"cell_type": kind, "metadata": {}, "source": src} for kind, src in cells],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    (home / "work" / "data" / "sub").mkdir(parents=True)
    (home / "work" / "data" / "a.csv").write_text("x\n1\n")
    (home / "work" / "data" / "sub" / "b.csv").write_text("y\n")
    (home / "work" / "map.png").write_bytes(b"\x89PNG")
    (home / "work" / "unused.csv").write_text("z\n")
    (home / "private.txt").write_text("secret")
    (tmp_path / "elsewhere.txt").write_text("not yours")
    (home / "work" / "app.ipynb").write_text(
        nb(
            ("markdown", "# 地図\n![地図](map.png)"),
            ("code", "%matplotlib inline\nimport pandas as pd\ndf = pd.read_csv('data/a.csv')"),
            ("code", "folder = 'data/sub'\nnames = os.listdir(folder)\nnone = open('nai.csv')"),
            ("code", "up = open('../private.txt')\nout = open('link.txt')"),
        )
    )
    os.symlink(tmp_path / "elsewhere.txt", home / "work" / "link.txt")
    return home


def snapshot(home, relative="work/app.ipynb", max_bytes=10**6) -> tuple[list[str], dict]:
    out = io.BytesIO()
    reader.write_snapshot(home, relative, max_bytes, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(reader.MANIFEST))
    return names, manifest


def test_the_notebook_and_the_files_it_names_are_packed(home):
    names, manifest = snapshot(home)
    assert names[0] == "app.ipynb"
    assert sorted(manifest["files"]) == ["app.ipynb", "data/a.csv", "data/sub/b.csv", "map.png"]
    assert "unused.csv" not in names
    reasons = {s["path"]: s["reason"] for s in manifest["skipped"]}
    assert reasons == {"../private.txt": "outside_folder", "link.txt": "outside_home"}


def test_images_named_url_encoded_or_in_angle_brackets_are_packed(tmp_path):
    """Markdown writes `グラフ%201.png` (or `<グラフ 1.png>`) for the file `グラフ 1.png`."""
    home = tmp_path / "home"
    (home / "zu" / "img").mkdir(parents=True)
    for name in ("グラフ 1.png", "図 2.png", "img/c.png", "100%.png", "chart.png"):
        (home / "zu" / name).write_bytes(b"\x89PNG")
    (home / "zu" / "app.ipynb").write_text(
        nb(
            (
                "markdown",
                "![グラフ](グラフ%201.png)\n\n![図](<図 2.png>)\n\n"
                '<img src="img/c.png" width="80">\n\n![率](100%.png)\n\n'
                '![図](chart.png "題")',
            )
        )
    )
    _, manifest = snapshot(home, "zu/app.ipynb")
    assert sorted(manifest["files"]) == [
        "100%.png",
        "app.ipynb",
        "chart.png",
        "img/c.png",
        "グラフ 1.png",
        "図 2.png",
    ]


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        ("../home/work/app.ipynb", "bad_path"),
        ("/etc/passwd.ipynb", "bad_path"),
        ("work/nai.ipynb", "not_found"),
        ("work/data/a.csv", "not_notebook"),
    ],
)
def test_bad_notebook_paths_are_refused(home, relative, code):
    with pytest.raises(reader.Refused) as refused:
        snapshot(home, relative)
    assert refused.value.code == code


def test_a_notebook_that_is_a_link_out_of_the_home_is_refused(home, tmp_path):
    (tmp_path / "their.ipynb").write_text(nb())
    os.symlink(tmp_path / "their.ipynb", home / "work" / "theirs.ipynb")
    with pytest.raises(reader.Refused) as refused:
        snapshot(home, "work/theirs.ipynb")
    assert refused.value.code == "outside_home"


def test_size_cap(home):
    with pytest.raises(reader.Refused) as refused:
        snapshot(home, max_bytes=10)
    assert refused.value.code == "too_large"


def test_listing_skips_hidden_folders_and_checkpoints(home):
    (home / ".ipynb_checkpoints").mkdir()
    (home / ".ipynb_checkpoints" / "app-checkpoint.ipynb").write_text(nb())
    assert [n["path"] for n in reader.list_notebooks(home)] == ["work/app.ipynb"]


def tar_of(*members: tuple[str, bytes, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return out.getvalue()


MANIFEST = (store.MANIFEST, json.dumps({"notebook": "app.ipynb"}).encode(), tarfile.REGTYPE)


def test_unpack_keeps_regular_files_and_reads_the_manifest(tmp_path):
    stream = tar_of(
        ("app.ipynb", b"{}", tarfile.REGTYPE), ("d/x.csv", b"1", tarfile.REGTYPE), MANIFEST
    )
    snap = store.unpack(stream, tmp_path, 100)
    assert snap.notebook == "app.ipynb" and sorted(snap.files) == ["app.ipynb", "d/x.csv"]
    assert (tmp_path / "d" / "x.csv").read_text() == "1"
    assert len(snap.sha256) == 64


@pytest.mark.parametrize(
    "member",
    [
        ("../escape.txt", b"x", tarfile.REGTYPE),
        ("/etc/cron.d/x", b"x", tarfile.REGTYPE),
        ("link", b"", tarfile.SYMTYPE),
        ("a\\..\\b", b"x", tarfile.REGTYPE),
    ],
)
def test_unpack_refuses_what_the_reader_should_never_send(tmp_path, member):
    stream = tar_of(("app.ipynb", b"{}", tarfile.REGTYPE), member, MANIFEST)
    with pytest.raises(store.SnapshotRejected):
        store.unpack(stream, tmp_path / "s", 100)
    assert not (tmp_path / "escape.txt").exists()


def test_unpack_enforces_the_size_cap_and_needs_the_manifest(tmp_path):
    big = tar_of(("app.ipynb", b"x" * 200, tarfile.REGTYPE), MANIFEST)
    with pytest.raises(store.SnapshotRejected, match="too_large"):
        store.unpack(big, tmp_path / "a", 100)
    bare = tar_of(("app.ipynb", b"{}", tarfile.REGTYPE))
    with pytest.raises(store.SnapshotRejected, match="no_manifest"):
        store.unpack(bare, tmp_path / "b", 100)
