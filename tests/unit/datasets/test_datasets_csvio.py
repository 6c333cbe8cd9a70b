import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sunaba.datasets import DatasetError, EncodingError, detect_encoding, read_csv_ja
from sunaba.datasets.csvio import decode_bytes

TEXT = "名称,住所,電話番号\n七尾中学校,石川県七尾市藤橋町辰部５２番地１,0767-53-8429\nｽﾅﾊﾞ公民館,砂場市港町1-2,\n"


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("cp932", b"", "cp932"),
        ("euc_jp", b"", "euc_jp"),
        ("utf-16", b"", "utf-16"),
    ],
)
def test_detects_encoding_and_says_so(tmp_path, capsys, encoding, prefix, expected):
    path = tmp_path / "data.csv"
    path.write_bytes(prefix + TEXT.encode(encoding))
    frame = read_csv_ja(path, dtype=str, keep_default_na=False)
    assert frame.attrs["encoding"] == expected
    assert frame.columns.tolist() == ["名称", "住所", "電話番号"]
    assert frame.loc[0, "住所"] == "石川県七尾市藤橋町辰部５２番地１"
    assert frame.loc[1, "名称"] == "ｽﾅﾊﾞ公民館"
    out = capsys.readouterr().out
    assert "data.csv" in out and "判定して読み込みました" in out
    assert detect_encoding(path) == expected


def test_quiet_and_explicit_encoding(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_bytes(TEXT.encode("cp932"))
    frame = read_csv_ja(path, encoding="Shift_JIS", quiet=True)
    assert frame.attrs["encoding"] == "cp932"
    assert capsys.readouterr().out == ""
    read_csv_ja(path, encoding="cp932")
    assert "指定どおり" in capsys.readouterr().out


def test_wrong_explicit_encoding_names_the_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(("name,address\n" + TEXT).encode("cp932"))
    with pytest.raises(EncodingError) as info:
        read_csv_ja(path, encoding="utf-8")
    assert "data.csv" in str(info.value) and "2行目" in str(info.value)


def test_unknown_encoding_is_a_clear_error(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,2\ncafé,ÿ\n".encode("latin-1"))
    with pytest.raises(EncodingError) as info:
        read_csv_ja(path)
    message = str(info.value)
    assert "latin.csv" in message and "文字コードがわかりません" in message and "3行目" in message
    assert info.value._render_traceback_()[1] == message


def test_utf16_without_bom_is_not_text(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("a,b\n1,2\n".encode("utf-16-le"))
    with pytest.raises(EncodingError, match="NUL"):
        read_csv_ja(path)


def test_mojibake_is_reported(tmp_path, capsys):
    path = tmp_path / "broken.csv"
    path.write_text("名称\n\ufffd\ufffd町\n", encoding="utf-8")
    read_csv_ja(path)
    assert "文字化け" in capsys.readouterr().out


def test_column_count_error_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        read_csv_ja(path)
    assert "bad.csv・3行目" in str(info.value) and "列の数が合いません" in str(info.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DatasetError, match="ファイルがありません"):
        read_csv_ja(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DatasetError, match="空です"):
        read_csv_ja(tmp_path / "empty.csv")


japanese = st.text(
    alphabet=st.sampled_from(
        list("あいうえおかきくけこアイウエオカキクケコ市町村区役所公民館図書館東西南北123abc ,\n")
    ),
    max_size=200,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(japanese, st.sampled_from(["utf-8", "utf-8-sig", "cp932"]))
def test_decoding_round_trip(text, encoding):
    decoded = decode_bytes(text.encode(encoding))
    assert decoded.text == text
    if any(ord(ch) > 0x7F for ch in text):
        assert decoded.encoding == encoding
