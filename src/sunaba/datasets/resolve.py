"""Turn what a learner or the CLI names as a schema into a Schema."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sunaba.datasets.catalogue import Catalogue, read_yaml
from sunaba.datasets.errors import DatasetError
from sunaba.datasets.standards import find_standard, standard_names
from sunaba.datasets.tableschema import Schema


def resolve_schema(spec: Schema | Mapping | str | Path, catalogue=None) -> Schema:
    """A Schema from: a Schema; a dict; a standard's id, alias or title ("aed",
    "AED設置箇所一覧"); a catalogue entry "dataset/resource" (or "dataset" with one resource);
    or the path of a YAML/JSON schema file."""
    if isinstance(spec, Schema):
        return spec
    if isinstance(spec, Mapping):
        return Schema.from_dict(spec)
    if not isinstance(spec, str | Path):
        raise TypeError("schema には Schema・辞書・名前・ファイルのパスのどれかを渡してください")
    text = str(spec)
    standard = find_standard(text)
    if standard is not None:
        return Schema.from_dict(standard, source=f"標準スキーマ {standard['title']}")
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".json") and path.is_file():
        return Schema.from_dict(read_yaml(path), source=str(path))

    catalogue = catalogue or Catalogue()
    dataset_name, _, resource_name = text.partition("/")
    if dataset_name in catalogue.names():
        dataset = catalogue.get(dataset_name)
        if resource_name:
            return dataset.resource(resource_name).schema
        if len(dataset.resources) == 1:
            return dataset.resources[0].schema
        names = "、".join(item.name for item in dataset.resources)
        raise DatasetError(
            f"「{dataset_name}」には複数のリソースがあります。「{dataset_name}/リソース名」の形で"
            f"指定してください（リソース: {names}）"
        )
    raise DatasetError(
        f"スキーマ「{text}」が見つかりません。標準データセットの名前（"
        + "、".join(standard_names())
        + "、または日本語の名前）、「データセット/リソース」、スキーマファイルのパスのどれかを"
        "指定してください"
    )
