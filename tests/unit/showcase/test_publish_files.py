"""Which files a published notebook takes along: the ones its code opens, reads or lists and
the images its Markdown shows; never a file only because its name appears in a string. And
every file left out is reported with its reason."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from sunaba.showcase.messages import SKIPPED_REASONS, check_failed, left_out_lines
from sunaba.showcase.sandboxed import snapshot_reader as reader


def nb(*cells: tuple[str, str]) -> dict:
    return {
        "cells": [{"cell_type": kind, "metadata": {}, "source": src} for kind, src in cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def code(*sources: str) -> dict:
    return nb(*(("code", s) for s in sources))


def snapshot(home, notebook: dict, max_bytes=10**6) -> dict:
    (home / "app.ipynb").write_text(json.dumps(notebook))
    out = io.BytesIO()
    reader.write_snapshot(home.parent, f"{home.name}/app.ipynb", max_bytes, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        manifest = json.load(tar.extractfile(reader.MANIFEST))
        assert sorted(tar.getnames()) == sorted([*manifest["files"], reader.MANIFEST])
    return manifest


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "home" / "work"
    (work / "data").mkdir(parents=True)
    for name in ("a.csv", "b.csv", "c.xlsx", "d.json", "secret.csv", "data/e.csv", "data/f.csv"):
        (work / name).write_text("x\n1\n")
    return work


def test_a_notebook_that_prints_its_own_name_does_not_take_its_source_along(work):
    """The probe: printing "app.ipynb" or a data file's name is not using the file."""
    manifest = snapshot(
        work, code('print("app.ipynb")', "label = 'secret.csv'\nprint(f'{label} は使いません')")
    )
    assert manifest["files"] == ["app.ipynb"]
    reasons = {s["path"]: s["reason"] for s in manifest["skipped"]}
    assert reasons == {"secret.csv": "not_used"}  # the notebook itself is never listed


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import pandas as pd\ndf = pd.read_csv('a.csv')", ["a.csv"]),
        ("df = pd.read_excel(io='c.xlsx')", ["c.xlsx"]),
        ("with open('d.json', encoding='utf-8') as f:\n    data = json.load(f)", ["d.json"]),
        ("PATH = 'b.csv'\ndf = pd.read_csv(PATH)", ["b.csv"]),
        ("from pathlib import Path\ntext = Path('a.csv').read_text()", ["a.csv"]),
        ("DATA = Path('data')\ndf = pd.read_csv(DATA / 'e.csv')", ["data/e.csv"]),
        ("df = pd.read_csv(os.path.join('data', 'f.csv'))", ["data/f.csv"]),
        ("for name in ['a.csv', 'b.csv']:\n    pd.read_csv(name)", ["a.csv", "b.csv"]),
        ("files = os.listdir('data')", ["data/e.csv", "data/f.csv"]),
        ("%matplotlib inline\ndf = pd.read_csv('a.csv')\n!ls", ["a.csv"]),
    ],
)
def test_files_the_code_opens_reads_or_lists_are_packed(work, source, expected):
    manifest = snapshot(work, code(source))
    assert sorted(manifest["files"]) == sorted(["app.ipynb", *expected])


def test_a_path_used_in_a_later_cell_is_followed_across_cells(work):
    manifest = snapshot(work, code("SOURCE = 'b.csv'", "df = pd.read_csv(SOURCE)"))
    assert sorted(manifest["files"]) == ["app.ipynb", "b.csv"]


def test_markdown_images_are_still_packed(work):
    (work / "map.png").write_bytes(b"\x89PNG")
    manifest = snapshot(work, nb(("markdown", "![地図](map.png)"), ("code", "x = 'map.png'")))
    assert sorted(manifest["files"]) == ["app.ipynb", "map.png"]


def test_left_out_files_are_listed_with_their_reason(work, tmp_path):
    (tmp_path / "home" / "above.csv").write_text("x\n")
    (tmp_path / "outside.csv").write_text("x\n")
    os.symlink(tmp_path / "outside.csv", work / "away.csv")
    os.symlink(work / "a.csv", work / "alias.csv")
    (work / "big.csv").write_text("x" * 5000)
    manifest = snapshot(
        work,
        code(
            "pd.read_csv('../above.csv')",
            "pd.read_csv('away.csv')",
            "pd.read_csv('alias.csv')",
            "pd.read_csv('big.csv')\npd.read_csv('a.csv')",
        ),
        max_bytes=3000,
    )
    reasons = {s["path"]: s["reason"] for s in manifest["skipped"]}
    assert reasons == {
        "../above.csv": "outside_folder",
        "away.csv": "outside_home",
        "alias.csv": "symlink",
        "big.csv": "too_large",
    }
    assert sorted(manifest["files"]) == ["a.csv", "app.ipynb"]  # a small file still fits
    lines = left_out_lines(manifest["skipped"])
    assert len(lines) == 4 and all(line.startswith("「") for line in lines)
    assert set(SKIPPED_REASONS) >= {"outside_folder", "outside_home", "symlink", "too_large"}


def test_a_notebook_too_large_by_itself_is_refused(work):
    with pytest.raises(reader.Refused) as refused:
        snapshot(work, code("x = 1" + " " * 500), max_bytes=100)
    assert refused.value.code == "too_large"


def test_a_check_failure_caused_by_a_left_out_file_says_so():
    skipped = [{"path": "big.csv", "reason": "too_large"}, {"path": "x.png", "reason": "symlink"}]
    result = {
        "kind": "error",
        "number": 2,
        "ename": "FileNotFoundError",
        "evalue": "[Errno 2] No such file or directory: 'big.csv'",
    }
    error = check_failed(result, 30, had_live=False, skipped=skipped)
    assert "big.csv" in error.message and SKIPPED_REASONS["too_large"] in error.message
    assert "x.png" not in error.message  # only the file the error names
    assert len(error.details["left_out"]) == 2  # the page lists every file left out

    other = check_failed(
        {"kind": "error", "number": 1, "ename": "ZeroDivisionError"},
        30,
        had_live=False,
        skipped=skipped,
    )
    assert "含めなかった" not in other.message
