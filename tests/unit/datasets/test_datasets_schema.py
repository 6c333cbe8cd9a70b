import re

import pytest

from sunaba.datasets import CatalogueError, DatasetError, Schema
from sunaba.datasets.resolve import resolve_schema
from sunaba.datasets.standards import STANDARDS, find_standard

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize("key", sorted(STANDARDS))
def test_standard_schemas_are_valid_and_described_in_japanese(key):
    schema = Schema.from_dict(find_standard(key))
    assert schema.fields_match == "superset"
    for field in schema.fields:
        assert JAPANESE.search(field.description), field.name
    assert schema.field("全国地方公共団体コード").required
    assert "lg_code" in schema.field("全国地方公共団体コード").rules


def test_standard_columns_follow_the_standard():
    facilities = [f["name"] for f in find_standard("公共施設一覧")["fields"]]
    assert facilities[:6] == [
        "全国地方公共団体コード",
        "ID",
        "地方公共団体名",
        "名称",
        "名称_カナ",
        "名称_英字",
    ]
    for name in ("所在地_連結表記", "緯度", "経度", "電話番号", "URL", "備考"):
        assert name in facilities
    shelters = [f["name"] for f in find_standard("指定緊急避難場所一覧")["fields"]]
    assert "災害種別_崖崩れ、土石流及び地滑り" in shelters and "想定収容人数" in shelters
    population = [f["name"] for f in find_standard("地域・年齢別人口")["fields"]]
    assert "0-4歳の男性" in population and "85歳以上の女性" in population
    assert "設置位置" in [f["name"] for f in find_standard("AED設置箇所一覧")["fields"]]
    assert "一時預かりの有無" in [f["name"] for f in find_standard("子育て施設一覧")["fields"]]


@pytest.mark.parametrize(
    "name", ["aed", "aed-locations", "AED設置箇所一覧", "shelters", "指定緊急避難場所一覧"]
)
def test_resolve_by_name(name):
    assert resolve_schema(name).fields


def test_resolve_catalogue_entry_and_file(repo_catalogue, tmp_path):
    assert (
        resolve_schema("census-2020-prefectures", repo_catalogue).field_names[0] == "都道府県コード"
    )
    assert resolve_schema("sunaba-city/aed", repo_catalogue).field("設置位置").required
    with pytest.raises(DatasetError, match="複数のリソース"):
        resolve_schema("sunaba-city", repo_catalogue)
    path = tmp_path / "s.yaml"
    path.write_text("fields:\n  - name: a\n    type: integer\n", encoding="utf-8")
    assert resolve_schema(path).field("a").type == "integer"
    with pytest.raises(DatasetError, match="見つかりません"):
        resolve_schema("no-such-schema", repo_catalogue)


def test_every_problem_is_listed_with_its_path():
    with pytest.raises(CatalogueError) as info:
        Schema.from_dict(
            {
                "fields": [
                    {"name": "a", "type": "strng"},
                    {"name": "b", "constraints": {"minimum": "x", "pattern": "("}},
                    {"name": "a"},
                    {"name": "c", "rules": ["nope"], "colour": "red"},
                ],
                "primaryKey": ["zz"],
                "fieldsMatch": "some",
            },
            source="test.yaml",
        )
    message = str(info.value)
    for expected in [
        "fields[0]（a）.type",
        "fields[1]（b）.constraints.pattern",
        "重複",
        "「nope」",
        "「colour」",
        "primaryKey",
        "fieldsMatch",
    ]:
        assert expected in message, expected
    assert message.startswith("test.yaml: ")


def test_schema_without_fields():
    with pytest.raises(CatalogueError, match="fields"):
        Schema.from_dict({"fields": []})
    with pytest.raises(CatalogueError):
        Schema.from_dict(["not", "a", "dict"])
