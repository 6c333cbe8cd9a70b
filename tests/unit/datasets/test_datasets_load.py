import hashlib
import sys
from datetime import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sunaba.datasets import DatasetError, load
from sunaba.datasets.catalogue import ENV_PATH, Catalogue, checkout_datasets_dir, search_path
from tests.unit.datasets.paths import CATALOGUE_DIR


def make_dataset(
    root: Path, name: str, csv_bytes: bytes, fields: list[dict], **resource
) -> Catalogue:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "data.csv").write_bytes(csv_bytes)
    package = {
        "name": name,
        "title": "テスト",
        "title_en": "Test",
        "contributors": [{"title": "テスト市", "role": "publisher"}],
        "licenses": [{"name": "CC-BY-4.0", "title": "CC BY 4.0"}],
        "attribution": "テスト市",
        "resources": [
            {
                "name": "data",
                "path": "data.csv",
                "bytes": len(csv_bytes),
                "hash": "sha256:" + hashlib.sha256(csv_bytes).hexdigest(),
                "schema": {"fields": fields},
                **resource,
            }
        ],
    }
    (folder / "datapackage.yaml").write_text(
        yaml.safe_dump(package, allow_unicode=True), encoding="utf-8"
    )
    return Catalogue([root])


LENIENT = (
    "人数,比率,日付,時刻,津波,年度,名称\r\n"
    '"1,234",１２．５,令和6年4月1日,午後5時30分,○,令和4年度,港公民館\r\n'
    "１２,−3.5,2024-04-02,9:00,×,2023,\r\n"
    ",,,,,,　\r\n"
)
LENIENT_FIELDS = [
    {"name": "人数", "type": "integer"},
    {"name": "比率", "type": "number"},
    {"name": "日付", "type": "date"},
    {"name": "時刻", "type": "time", "format": "%H:%M"},
    {"name": "津波", "type": "boolean", "trueValues": ["1"], "falseValues": ["0"]},
    {"name": "年度", "type": "year", "format": "wareki"},
    {"name": "名称", "type": "string"},
]


def test_lenient_types(tmp_path):
    catalogue = make_dataset(
        tmp_path, "lenient", LENIENT.encode("cp932"), LENIENT_FIELDS, encoding="cp932"
    )
    df = load("lenient", catalogue=catalogue)
    assert [str(t) for t in df.dtypes] == [
        "Int64",
        "float64",
        "datetime64[s]",
        "object",
        "boolean",
        "Int64",
        "str",
    ]
    assert df["人数"].tolist()[:2] == [1234, 12] and pd.isna(df["人数"].iloc[2])
    assert df["比率"].tolist()[:2] == [12.5, -3.5]
    assert df["日付"].tolist()[:2] == [pd.Timestamp(2024, 4, 1), pd.Timestamp(2024, 4, 2)]
    assert df["時刻"].tolist()[:2] == [time(17, 30), time(9, 0)]
    assert df["津波"].tolist()[:2] == [True, False]
    assert df["年度"].tolist()[:2] == [2022, 2023]
    assert df["名称"].iloc[0] == "港公民館" and pd.isna(df["名称"].iloc[1])
    assert df["名称"].iloc[2] == "\u3000"  # strings are kept as written
    assert df.attrs["encoding"] == "cp932" and df.attrs["attribution"] == "テスト市"


def test_raw_keeps_text(tmp_path):
    catalogue = make_dataset(tmp_path, "lenient", LENIENT.encode("utf-8"), LENIENT_FIELDS)
    df = load("lenient", raw=True, catalogue=catalogue)
    assert (df.dtypes.astype(str) == "str").all()
    assert df.loc[0, "人数"] == "1,234" and df.loc[2, "人数"] == ""


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("日付", "平成31年5月1日", ["平成は平成31年4月30日まで"]),
        ("日付", "きのう", ["日付として読めません"]),
        ("人数", "十二", ["整数として読めません"]),
        ("時刻", "夕方", ["時刻として読めません"]),
        ("津波", "△", ["真偽値として読めません"]),
    ],
)
def test_unparseable_value_names_file_row_and_column(tmp_path, column, value, words):
    text = LENIENT.replace(
        "2024-04-02" if column == "日付" else {"人数": "１２", "時刻": "9:00", "津波": "×"}[column],
        value,
    )
    catalogue = make_dataset(tmp_path, "broken", text.encode("utf-8"), LENIENT_FIELDS)
    with pytest.raises(DatasetError) as info:
        load("broken", catalogue=catalogue)
    message = str(info.value)
    assert message.startswith(f"broken/data.csv・3行目・列「{column}」: ")
    assert f"「{value}」" in message
    for word in words:
        assert word in message


def test_columns_must_match_the_catalogue(tmp_path):
    catalogue = make_dataset(tmp_path, "cols", b"a,b\n1,2\n", [{"name": "a"}, {"name": "c"}])
    with pytest.raises(DatasetError, match="列がカタログの定義と合いません"):
        load("cols", catalogue=catalogue)


def test_row_with_too_many_fields(tmp_path):
    catalogue = make_dataset(tmp_path, "rows", b"a,b\n1,2\n3,4,5\n", [{"name": "a"}, {"name": "b"}])
    with pytest.raises(DatasetError, match="rows/data.csv・3行目: 列の数が合いません"):
        load("rows", catalogue=catalogue)


def test_unknown_dataset_and_resource(repo_catalogue):
    with pytest.raises(DatasetError, match="見つかりません.*census-2020-prefectures"):
        load("no-such-data", catalogue=repo_catalogue)
    with pytest.raises(DatasetError, match="5 個のリソース"):
        load("sunaba-city", catalogue=repo_catalogue)
    with pytest.raises(DatasetError, match="リソース「nope」はありません"):
        load("sunaba-city", "nope", catalogue=repo_catalogue)
    with pytest.raises(DatasetError, match="当てはまるリソースはありません"):
        load("sunaba-city", "zz*", catalogue=repo_catalogue)


def test_remote_file_not_yet_fetched(tmp_path):
    catalogue = Catalogue([tmp_path / "empty-cache", CATALOGUE_DIR])
    with pytest.raises(DatasetError, match="sunaba datasets fetch takamatsu-city-tax"):
        load("takamatsu-city-tax", catalogue=catalogue)


def test_census_facts(repo_catalogue):
    df = load("census-2020-prefectures", catalogue=repo_catalogue)
    assert len(df) == 47
    assert df["人口"].sum() == 126_146_099
    tokyo = df.set_index("都道府県名").loc["東京都"]
    assert tokyo["人口"] == 14_047_594 and tokyo["全国地方公共団体コード"] == "130001"
    assert df.set_index("都道府県名").loc["香川県", "人口"] == 950_244
    assert "令和2年国勢調査" in df.attrs["attribution"]


def test_several_resources_are_stacked(repo_catalogue):
    df = load("sunaba-city", ["aed", "public-facilities"], raw=True, catalogue=repo_catalogue)
    assert df.columns[0] == "ファイル"
    assert set(df["ファイル"]) == {"aed.csv", "public_facilities.csv"}
    assert df.attrs["fictional"] and "架空" in df.attrs["title"]


def test_search_path_order(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv(ENV_PATH, f"{first}{':'}{tmp_path / 'missing'}:{second}")
    prefix = tmp_path / "prefix"
    (prefix / "share" / "datasets").mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(prefix / "venv"))
    dirs = search_path()
    assert dirs[:3] == [first, second, prefix / "share" / "datasets"]
    # The checkout's own catalogue comes last, when the code runs from a checkout (an editable
    # install); an installed copy knows no checkout.
    checkout = checkout_datasets_dir()
    assert dirs[3:] == ([checkout] if checkout is not None else [])


def test_env_path_wins(tmp_path, monkeypatch):
    make_dataset(tmp_path, "census-2020-prefectures", b"x\n1\n", [{"name": "x", "type": "integer"}])
    monkeypatch.setenv(ENV_PATH, str(tmp_path))
    assert load("census-2020-prefectures")["x"].tolist() == [1]


def test_error_in_a_stack_names_the_right_file(tmp_path):
    catalogue = make_dataset(tmp_path, "stack", b"n\n1\n2\n", [{"name": "n", "type": "integer"}])
    folder = tmp_path / "stack"
    second = b"n\n3\nfour\n"
    (folder / "second.csv").write_bytes(second)
    package = yaml.safe_load((folder / "datapackage.yaml").read_text(encoding="utf-8"))
    extra = dict(package["resources"][0], name="second", path="second.csv", bytes=len(second))
    extra["hash"] = "sha256:" + hashlib.sha256(second).hexdigest()
    package["resources"].append(extra)
    (folder / "datapackage.yaml").write_text(
        yaml.safe_dump(package, allow_unicode=True), encoding="utf-8"
    )
    stacked = load("stack", "data", catalogue=catalogue)
    assert stacked["n"].tolist() == [1, 2]
    with pytest.raises(DatasetError) as info:
        load("stack", "*", catalogue=catalogue)
    assert str(info.value).startswith("stack/second.csv・3行目・列「n」: 値「four」")
    (folder / "second.csv").write_bytes(second.replace(b"four", b"4"))
    package["resources"][1]["hash"] = (
        "sha256:" + hashlib.sha256(second.replace(b"four", b"4")).hexdigest()
    )
    stacked = load("stack", "*", catalogue=catalogue)
    assert stacked["n"].tolist() == [1, 2, 3, 4]
    assert stacked["ファイル"].tolist() == ["data.csv", "data.csv", "second.csv", "second.csv"]
