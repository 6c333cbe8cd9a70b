"""砂場市 (Sunaba City): a fictional city whose open data has the defects real files have.

Everything here is made up (架空のデータ): the city, its prefecture 砂場県, the code 999016,
the facilities, the people. Coordinates fall in the Pacific Ocean south of Honshu, phone numbers
use 0990 and the web site is `city.sunaba.example`, so nothing can be mistaken for a real place.

The files follow the column layouts of the 自治体標準オープンデータセット and carry defects
planted on purpose, each recorded as a `PlantedDefect`:

- CP932 encoding (公共施設一覧, 指定緊急避難場所一覧, 地域・年齢別人口), UTF-8 with BOM (AED),
- 全角 digits and 全角 spaces, half-width katakana in 名称_カナ,
- 和暦 dates and 午前/午後 times,
- a five-digit 全国地方公共団体コード without its check digit,
- latitude and longitude swapped,
- ○/△ where the standard wants 1 (or 有/無),
- numbers with thousands separators.

`build(seed)` is deterministic: the same seed gives the same bytes (a test regenerates the
files committed under `datasets/sunaba-city/` and compares them).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import yaml

from sunaba.core.files import write_atomic
from sunaba.datasets.standards import find_standard
from sunaba.datasets.sunaba_city_defects import City, PlantedDefect, plant_defects
from sunaba.datasets.sunaba_city_rows import (
    NAME,
    SEED,
    SITE,
    Maker,
    aed_rows,
    childcare_rows,
    columns,
    facilities_rows,
    population_rows,
    shelters_rows,
)


@dataclass(frozen=True)
class FileSpec:
    path: str
    resource: str
    standard: str
    title: str
    encoding: str  # Python codec written
    declared: str  # encoding named in datapackage.yaml


FILES = [
    FileSpec(
        "public_facilities.csv",
        "public-facilities",
        "public-facilities",
        "公共施設一覧",
        "cp932",
        "cp932",
    ),
    FileSpec("aed.csv", "aed", "aed-locations", "AED設置箇所一覧", "utf-8-sig", "utf-8-sig"),
    FileSpec(
        "shelters.csv",
        "shelters",
        "designated-evacuation-sites",
        "指定緊急避難場所一覧",
        "cp932",
        "cp932",
    ),
    FileSpec(
        "population.csv",
        "population",
        "population-by-area-age",
        "地域・年齢別人口",
        "cp932",
        "cp932",
    ),
    FileSpec(
        "childcare.csv", "childcare", "childcare-facilities", "子育て施設一覧", "utf-8", "utf-8"
    ),
]


@dataclass(frozen=True)
class Generated:
    files: dict[str, bytes]
    defects: list[PlantedDefect]


def generate_city(seed: int = SEED) -> City:
    make = Maker(seed)
    city = City()
    facilities = facilities_rows(make)
    city.rows["public_facilities.csv"] = facilities
    city.rows["aed.csv"] = aed_rows(make, facilities)
    city.rows["shelters.csv"] = shelters_rows(make)
    city.rows["population.csv"] = population_rows(make)
    city.rows["childcare.csv"] = childcare_rows(make)
    plant_defects(make, city)
    city.defects.sort(key=lambda d: (d.file, d.row, d.column))
    return city


def _csv_bytes(spec: FileSpec, rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = columns(spec.standard)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[column] for column in header])
    return buffer.getvalue().encode(spec.encoding)


def _resource_schema(spec: FileSpec) -> dict:
    """The file as published: the standard's columns; the shelters' hazard flags as text,
    since the file mixes 1 with ○ and △."""
    schema = find_standard(spec.standard)
    assert schema is not None
    schema = copy.deepcopy(schema)
    schema["description"] = (
        f"架空の砂場市の{spec.title}。列構成は自治体標準オープンデータセットに従います。"
    )
    for item in schema["fields"]:
        if item["name"].startswith("災害種別_"):
            item["type"] = "string"
            item.pop("trueValues", None)
            item.pop("falseValues", None)
            item["description"] = (
                item["description"] + "（このファイルでは 1 のほかに ○・△ も混じっています）"
            )
    return schema


def _package(files: dict[str, bytes], seed: int) -> dict:
    resources = []
    for spec in FILES:
        data = files[spec.path]
        resources.append(
            {
                "name": spec.resource,
                "title": f"{spec.title}（架空のデータ）",
                "path": spec.path,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": spec.declared,
                "bytes": len(data),
                "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
                "standard": spec.standard,
                "schema": _resource_schema(spec),
            }
        )
    return {
        "name": NAME,
        "title": "砂場市オープンデータ（架空のデータ）",
        "title_en": "Sunaba City open data (fictional)",
        "description": (
            "架空の自治体「砂場県砂場市」（全国地方公共団体コード 999016、実在しません）の公共施設・AED・"
            "指定緊急避難場所・子育て施設・地域別年齢別人口です。すべて架空のデータで、演習のために"
            "実際のオープンデータによくある不備（CP932 の文字コード、全角の数字や空白、半角カタカナ、"
            "和暦の日付、午前・午後の時刻、検査数字のない5桁のコード、緯度と経度の入れ替わり、○・△ の記号、"
            "桁区切りのカンマ）をわざと含めています。"
        ),
        "homepage": f"{SITE}/",
        "fictional": True,
        "contributors": [{"title": "Sunaba プロジェクト（架空の砂場市）", "role": "publisher"}],
        "sources": [
            {
                "title": f"src/sunaba/datasets/sunaba_city.py が生成（シード {seed}。架空のデータ）",
                "path": "src/sunaba/datasets/sunaba_city.py",
            }
        ],
        "licenses": [
            {
                "name": "CC0-1.0",
                "title": "CC0 1.0 全世界 パブリック・ドメイン提供",
                "path": "https://creativecommons.org/publicdomain/zero/1.0/deed.ja",
            }
        ],
        "attribution": "砂場市オープンデータ（架空のデータ。Sunaba プロジェクトが作成し、実在の自治体とは関係ありません）",
        "resources": resources,
    }


HEADER = "# 生成ファイル: sunaba datasets generate が書きます。手で直さないでください（架空のデータ）。\n"


def build(seed: int = SEED) -> Generated:
    """Every file of the dataset, datapackage.yaml included, as bytes; and the planted defects."""
    city = generate_city(seed)
    files = {spec.path: _csv_bytes(spec, city.rows[spec.path]) for spec in FILES}
    package = yaml.safe_dump(_package(files, seed), allow_unicode=True, sort_keys=False, width=100)
    files["datapackage.yaml"] = (HEADER + package).encode("utf-8")
    return Generated(files, city.defects)


def write(directory: Path, seed: int = SEED) -> Generated:
    """Write the dataset into `directory` (created if needed), each file replaced atomically."""
    generated = build(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in generated.files.items():
        write_atomic(directory / name, data, mode=0o644)
    return generated
