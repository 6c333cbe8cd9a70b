"""SSDSE-A-2026 read through the mirror: CP932, three header rows, codes as text."""

from __future__ import annotations

from sunaba.datasets import load, validate

NAME = "ssdse-a-2026-municipalities"


def test_three_header_rows_become_one_row_of_japanese_names(full_catalogue):
    frame = load(NAME, catalogue=full_catalogue)
    assert frame.shape == (1741, 128)  # SOURCE.md: 1,741 municipalities, 125 indicators + 3
    assert list(frame.columns[:4]) == ["地域コード", "都道府県", "市区町村", "総人口"]
    assert "SSDSE-A-2026" not in frame.columns and "A1101" not in frame.columns
    # the wave dash decoded as CP932 does it (U+FF5E), not as shift_jis (U+301C)
    assert "15\uff5e64歳人口" in frame.columns and "15\u301c64歳人口" not in frame.columns
    assert frame.attrs["encoding"] == "cp932"
    assert "SSDSE-A-2026" in frame.attrs["attribution"]


def test_codes_stay_text_and_values_are_numbers(full_catalogue):
    frame = load(NAME, catalogue=full_catalogue).set_index("地域コード")
    assert frame.index.is_unique and frame.index.str.fullmatch(r"R\d{5}").all()
    assert frame.loc["R22212", "市区町村"] == "焼津市"
    assert frame.loc["R37201", "市区町村"] == "高松市"
    assert frame.loc["R13101", "総面積（北方地域及び竹島を除く）"] == 1166  # ha, not km²
    assert frame.loc["R13101", "実質公債費比率（市町村財政）"] < 0
    assert str(frame["総人口"].dtype) == "Int64" and frame["総人口"].notna().all()


def test_the_file_matches_its_schema(full_catalogue):
    raw = load(NAME, raw=True, catalogue=full_catalogue)
    schema = full_catalogue.get(NAME).resource("municipalities").schema
    assert len(raw) == 1741
    assert validate(raw, schema).empty
