"""The learners' assignment-list extension: built by JupyterLab's toolchain, every text through
JupyterLab's translator with its Japanese shipped where JupyterLab looks for it."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path

import jupyterlab
import pytest

from sunaba.config.problems import ProblemsError
from sunaba.exchange import learner_files
from tests.support.course_texts import LAB_CATALOGUE, REPO, lab_catalogue
from tests.unit.courses.test_courses_setup import config_for

SOURCE = REPO / "labextension"
CALLS = re.compile(r'trans\.__\(\s*"((?:[^"\\]|\\.)*)"')


def _array(source: str, name: str) -> list[str]:
    block = re.search(rf"const {name} = \[(.*?)\];", source, re.DOTALL)
    assert block, f"{name} not found"
    return [json.loads(f'"{s}"') for s in re.findall(r'"((?:[^"\\]|\\.)*)"', block.group(1))]


def msgids_in_source() -> set[str]:
    source = (SOURCE / "lib" / "index.js").read_text(encoding="utf-8")
    calls = {json.loads(f'"{s}"') for s in CALLS.findall(source)}
    return calls | set(_array(source, "NBGRADER_TEXTS")) | set(_array(source, "NBGRADER_TITLES"))


def test_every_text_the_extension_shows_has_its_japanese_and_no_other():
    used, catalogue = msgids_in_source(), lab_catalogue()
    assert used - set(catalogue) == set(), "texts without Japanese"
    assert set(catalogue) - used == set(), "Japanese for texts the extension no longer shows"
    for msgid, japanese in catalogue.items():
        assert re.findall(r"%\d", msgid) == re.findall(r"%\d", japanese), msgid
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese), msgid


def test_jupyterlab_finds_the_catalogue_through_the_locale_entry_point():
    header = json.loads(LAB_CATALOGUE.read_text(encoding="utf-8"))[""]
    assert header["domain"] == "sunaba"
    # jupyterlab_server reads <entry point module dir>/locale/<lang>/LC_MESSAGES/<name>.json.
    (point,) = [p for p in entry_points(group="jupyterlab.locale") if p.name == "sunaba"]
    module_dir = Path(point.load().__file__).parent
    found = module_dir / "locale" / "ja_JP" / "LC_MESSAGES" / "sunaba.json"
    assert json.loads(found.read_text(encoding="utf-8")) == json.loads(LAB_CATALOGUE.read_text())


def test_the_extension_is_built_with_the_builder_of_the_installed_jupyterlab():
    package = json.loads((SOURCE / "package.json").read_text())
    lock = json.loads((SOURCE / "package-lock.json").read_text())
    builder = lock["packages"]["node_modules/@jupyterlab/builder"]["version"]
    staging = Path(jupyterlab.__file__).parent / "staging" / "package.json"
    wanted = json.loads(staging.read_text())["devDependencies"]["@jupyterlab/builder"]
    assert builder.split(".")[:2] == wanted.lstrip("^~").split(".")[:2], (builder, wanted)
    assert package["jupyterlab"]["outputDir"] == "../src/sunaba/courses/labextension"
    # What the builder wrote: a load entry naming a content-hashed file that exists.
    built = learner_files.LAB_EXTENSION_SOURCE
    load = json.loads((built / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    assert re.fullmatch(r"static/remoteEntry\.[0-9a-f]{20}\.js", load), load
    assert (built / load).is_file()


def test_a_rebuild_replaces_the_old_build_and_a_missing_build_is_named(tmp_path, monkeypatch):
    config = config_for(tmp_path)
    build = tmp_path / "build"
    (build / "static").mkdir(parents=True)
    (build / "package.json").write_text("{}")
    (build / "static" / "remoteEntry.aaaa.js").write_text("old")
    monkeypatch.setattr(learner_files, "LAB_EXTENSION_SOURCE", build)
    first = learner_files.ensure_lab_extension(config)
    assert len(first) == 2
    (build / "static" / "remoteEntry.aaaa.js").unlink()
    (build / "static" / "remoteEntry.bbbb.js").write_text("new")
    learner_files.ensure_lab_extension(config)
    installed = tmp_path / "prefix" / "venv" / "share" / "jupyter" / "labextensions"
    installed = installed / "@sunaba" / "assignment-list" / "static"
    assert sorted(p.name for p in installed.iterdir()) == ["remoteEntry.bbbb.js"]

    monkeypatch.setattr(learner_files, "LAB_EXTENSION_SOURCE", tmp_path / "never-built")
    with pytest.raises(ProblemsError, match="ビルドされていません") as caught:
        learner_files.ensure_lab_extension(config)
    assert str(tmp_path / "never-built") in str(caught.value)
