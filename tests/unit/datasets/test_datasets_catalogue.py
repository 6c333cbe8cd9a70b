"""Catalogue checks: every package parses, bundled files match their checksums, licences and
attribution are present, schemas are valid and described in Japanese, fictional data is labelled,
and no fetched data is committed."""

import hashlib
import re
import subprocess

import pytest
import yaml

from sunaba.datasets import CatalogueError, DatasetError
from sunaba.datasets.catalogue import PACKAGE_FILE, Catalogue, parse_package, read_package
from tests.unit.datasets.paths import CATALOGUE_DIR, REPO

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
NAMES = sorted(p.parent.name for p in CATALOGUE_DIR.glob(f"*/{PACKAGE_FILE}"))
EXPECTED = {
    "census-2020-prefectures",
    "sunaba-city",
    "takamatsu-population",
    "takamatsu-facilities",
    "takamatsu-city-tax",
    "nanao-shelters",
    "ssdse-a-2026-municipalities",
    "ssdse-b-2025-prefecture-panel",
    "yaizu-traffic-accidents",
    "mhlw-covid19-daily-cases",
    "takamatsu-beauty-salons-wareki",
    "yaizu-yohairyosya-cp932",
}


def test_catalogue_has_every_dataset():
    assert set(NAMES) == EXPECTED


@pytest.mark.parametrize("name", NAMES)
def test_package_is_complete(name):
    dataset = read_package(CATALOGUE_DIR / name)
    assert dataset.name == name
    assert JAPANESE.search(dataset.title) and dataset.title_en
    assert dataset.publisher and dataset.attribution and dataset.licenses
    for licence in dataset.licenses:
        assert licence.get("title") and (licence.get("path") or licence.get("name"))
    for resource in dataset.resources:
        for field in resource.schema.fields:
            assert JAPANESE.search(field.description), f"{resource.name}.{field.name}"
        if resource.remote:
            assert resource.url.startswith("https://")
            assert not (CATALOGUE_DIR / name / resource.path).exists(), (
                "fetched data must not be committed"
            )
        else:
            data = (CATALOGUE_DIR / name / resource.path).read_bytes()
            assert len(data) == resource.bytes
            assert hashlib.sha256(data).hexdigest() == resource.sha256


def test_real_data_is_fetched_not_bundled():
    for name in (
        "takamatsu-population",
        "takamatsu-facilities",
        "takamatsu-city-tax",
        "nanao-shelters",
    ):
        dataset = read_package(CATALOGUE_DIR / name)
        assert all(resource.remote for resource in dataset.resources)
        assert "CC BY 4.0" in dataset.attribution or "CC BY 4.0" in dataset.license_label
    assert len(read_package(CATALOGUE_DIR / "nanao-shelters").resources) == 119


def test_no_copy_of_the_mirror_is_tracked():
    tracked = subprocess.run(
        ["git", "ls-files", "datasets"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout
    others = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "datasets"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for line in (tracked + others).split():
        assert line.endswith(".yaml") or line.startswith(
            ("datasets/sunaba-city/", "datasets/census-2020-prefectures/")
        ), line


def test_fictional_data_is_labelled():
    dataset = read_package(CATALOGUE_DIR / "sunaba-city")
    assert dataset.fictional
    for text in (dataset.title, dataset.description, dataset.attribution):
        assert "架空" in text
    assert all("架空" in resource.title for resource in dataset.resources)


def write_package(tmp_path, text, name="broken"):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / PACKAGE_FILE).write_text(text, encoding="utf-8")
    return folder


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    folder = write_package(tmp_path, "name: broken\ntitle: [oops\nresources: []\n")
    with pytest.raises(CatalogueError) as info:
        read_package(folder)
    assert "datapackage.yaml" in str(info.value) and "行目" in str(info.value)


def test_every_problem_with_key_path(tmp_path):
    package = {
        "name": "other",
        "title": "題",
        "fictional": True,
        "licenses": [{"name": "CC-BY-4.0"}],
        "resources": [
            {
                "name": "Bad Name",
                "path": "../x.csv",
                "hash": "md5:abc",
                "bytes": -1,
                "url": "ftp://x",
                "schema": {"fields": [{"name": "a", "type": "nope"}]},
            },
            {
                "name": "b",
                "path": "b.csv",
                "hash": "sha256:" + "0" * 64,
                "bytes": 1,
                "encoding": "klingon",
                "standard": "nope",
            },
        ],
    }
    folder = write_package(tmp_path, yaml.safe_dump(package, allow_unicode=True))
    with pytest.raises(CatalogueError) as info:
        read_package(folder)
    message = str(info.value)
    for expected in [
        "name: フォルダ名「broken」",
        "title_en: ありません",
        "attribution: ありません",
        "contributors",
        "licenses[0]: title",
        "description: 架空",
        "resources[0].name",
        "resources[0]（Bad Name）.path",
        "resources[0]（Bad Name）.url",
        "resources[0]（Bad Name）.hash",
        "resources[0]（Bad Name）.bytes",
        "resources[0]（Bad Name）.schema",
        "resources[1]（b）.encoding",
        "resources[1]（b）.standard",
        "resources[1]（b）.schema: ありません",
    ]:
        assert expected in message, expected


def test_broken_package_does_not_hide_the_others(tmp_path):
    write_package(tmp_path, "just text")
    good = tmp_path / "census-2020-prefectures"
    good.mkdir()
    for item in (CATALOGUE_DIR / "census-2020-prefectures").iterdir():
        (good / item.name).write_bytes(item.read_bytes())
    catalogue = Catalogue([tmp_path])
    datasets, errors = catalogue.datasets()
    assert [d.name for d in datasets] == ["census-2020-prefectures"]
    assert len(errors) == 1 and "broken" in str(errors[0])
    with pytest.raises(DatasetError):
        catalogue.get("broken")


def test_parse_package_rejects_non_mapping(tmp_path):
    with pytest.raises(CatalogueError, match="キー: 値"):
        parse_package(["a"], tmp_path)
