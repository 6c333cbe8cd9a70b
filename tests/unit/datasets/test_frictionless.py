"""The catalogue is standard Data Package: the `frictionless` library reads every descriptor,
finds it valid, and builds a valid Table Schema for every tabular resource. (YAML aliases, for
one, broke this: frictionless consumed a schema shared by several resources at its first use.)"""

from __future__ import annotations

import pytest
import yaml
from frictionless import Package, Schema

from tests.unit.datasets.paths import CATALOGUE_DIR

DESCRIPTORS = sorted(CATALOGUE_DIR.glob("*/datapackage.yaml"))


def test_the_catalogue_is_not_empty():
    assert len(DESCRIPTORS) >= 10


@pytest.mark.parametrize("path", DESCRIPTORS, ids=lambda p: p.parent.name)
def test_frictionless_reads_and_validates_the_descriptor(path):
    descriptor = yaml.safe_load(path.read_text(encoding="utf-8"))
    report = Package.validate_descriptor(descriptor)
    assert report.valid, [error.message for error in report.errors]
    package = Package(str(path))
    assert [resource.name for resource in package.resources] == [
        item["name"] for item in descriptor["resources"]
    ]
    for resource, item in zip(package.resources, descriptor["resources"], strict=True):
        if "schema" not in item:
            continue
        schema = resource.schema
        assert isinstance(schema, Schema), resource.name
        assert Schema.validate_descriptor(schema.to_descriptor()).valid, resource.name
        written = item["schema"]
        if isinstance(written, str):  # a schema file beside the descriptor
            written = yaml.safe_load((path.parent / written).read_text(encoding="utf-8"))
        assert [field.name for field in schema.fields] == [
            field["name"] for field in written["fields"]
        ], resource.name


@pytest.mark.parametrize("path", DESCRIPTORS, ids=lambda p: p.parent.name)
def test_no_yaml_aliases(path):
    """Aliases make several resources share one schema object; write each out in full."""
    events = yaml.parse(path.read_text(encoding="utf-8"))
    assert not any(isinstance(event, yaml.AliasEvent) for event in events)
