"""Files whose column names are on a later row (dialect headerRows), as in SSDSE."""

from __future__ import annotations

import hashlib

import pytest

from sunaba.datasets import load
from sunaba.datasets.catalogue import Catalogue
from sunaba.datasets.headers import drop_leading_records, header_row_of


def test_header_row_of_reads_the_dialect():
    assert header_row_of({}) == 1
    assert header_row_of(None) == 1
    assert header_row_of({"headerRows": [3]}) == 3
    assert header_row_of({"headerRows": 2}) == 2
    for bad in ([1, 2], [0], "3", True, -1):
        assert header_row_of({"headerRows": bad}) is None


def test_drop_leading_records_respects_quoted_line_breaks():
    text = 'code,"a\nb"\n,year\nname,value\nx,1\n'
    assert drop_leading_records(text, 2) == "name,value\nx,1\n"
    assert drop_leading_records(text, 0) == text
    assert drop_leading_records("a\r\nb\r\nc", 1) == "b\r\nc"
    assert drop_leading_records("a\n", 5) == ""


def package(tmp_path, rows: str) -> Catalogue:
    data = "SSDSE-X,Prefecture,A1101\n,年度,2020\n地域コード,都道府県,総人口\n" + rows
    folder = tmp_path / "three-headers"
    folder.mkdir()
    (folder / "data.csv").write_bytes(data.encode("cp932"))
    digest = hashlib.sha256(data.encode("cp932")).hexdigest()
    (folder / "datapackage.yaml").write_text(
        f"""name: three-headers
title: 見出しが3行のファイル
title_en: Three header rows
contributors: [{{title: テスト, role: publisher}}]
licenses: [{{name: CC0-1.0, title: CC0}}]
attribution: テスト
resources:
- name: data
  path: data.csv
  encoding: cp932
  bytes: {len(data.encode("cp932"))}
  hash: sha256:{digest}
  dialect: {{headerRows: [3]}}
  schema:
    fields:
    - {{name: 地域コード, type: string}}
    - {{name: 都道府県, type: string}}
    - {{name: 総人口, type: integer}}
""",
        encoding="utf-8",
    )
    return Catalogue([tmp_path])


def test_load_uses_the_named_header_row(tmp_path):
    catalogue = package(tmp_path, "R01100,北海道,1973395\nR22212,静岡県,136000\n")
    frame = load("three-headers", catalogue=catalogue)
    assert list(frame.columns) == ["地域コード", "都道府県", "総人口"]
    assert frame["地域コード"].tolist() == ["R01100", "R22212"]
    assert frame["総人口"].sum() == 1973395 + 136000


def test_an_invalid_header_row_is_a_catalogue_problem(tmp_path):
    catalogue = package(tmp_path, "R01100,北海道,1\n")
    file = tmp_path / "three-headers" / "datapackage.yaml"
    file.write_text(file.read_text().replace("[3]", "[0]"), encoding="utf-8")
    with pytest.raises(Exception, match="headerRows"):
        catalogue.get("three-headers")
