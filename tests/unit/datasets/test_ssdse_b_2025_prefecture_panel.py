"""SSDSE-B-2025 read through the mirror: CP932, CRLF, two header rows, 47 × 12 panel."""

from __future__ import annotations

from sunaba.datasets import load, validate

NAME = "ssdse-b-2025-prefecture-panel"


def test_two_header_rows_and_a_balanced_panel(full_catalogue):
    frame = load(NAME, catalogue=full_catalogue)
    assert frame.shape == (564, 112)  # SOURCE.md: 47 prefectures × 12 years
    assert list(frame.columns[:4]) == ["年度", "地域コード", "都道府県", "総人口"]
    assert frame.groupby("都道府県").size().eq(12).all()
    assert sorted(frame["年度"].unique().tolist()) == list(range(2011, 2023))
    assert frame["年度"].iloc[0] == 2022  # newest year first, as published
    hokkaido = frame[frame["都道府県"] == "北海道"].set_index("年度")["総人口"]
    assert hokkaido[2022] == 5_140_000 and hokkaido[2020] == 5_224_614  # rounded vs census
    assert "SSDSE-B-2025" in frame.attrs["attribution"]


def test_the_file_matches_its_schema(full_catalogue):
    raw = load(NAME, raw=True, catalogue=full_catalogue)
    schema = full_catalogue.get(NAME).resource("prefectures").schema
    assert validate(raw, schema).empty
    assert raw["地域コード"].str.fullmatch(r"R\d{2}000").all()
