"""Areas register with the hub config and the `sunaba` command through entry points: every area
module that has hooks or commands is registered, and what is installed matches pyproject.toml."""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from sunaba.hub import areas

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "sunaba"


def _declared(group: str) -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["entry-points"][group]


def _top_level_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def _modules_defining(file_name: str, wanted: set[str]) -> set[str]:
    found = set()
    for path in PACKAGE.glob(f"*/{file_name}"):
        if _top_level_functions(path) & wanted:
            found.add(f"sunaba.{path.parent.name}.{path.stem}")
    return found


def test_every_area_with_hooks_is_registered():
    assert set(_declared(areas.GROUP).values()) == _modules_defining("hub.py", set(areas.HOOKS))


def test_every_area_with_commands_is_registered():
    assert set(_declared("sunaba.commands").values()) == _modules_defining(
        "cli.py", {"add_commands"}
    )


@pytest.mark.parametrize("group", [areas.GROUP, "sunaba.commands"])
def test_the_install_registers_what_pyproject_declares(group):
    installed = {entry.name: entry.value for entry in entry_points(group=group)}
    assert installed == _declared(group), "reinstall Sunaba (pip install .)"


def test_hooks_come_from_every_registered_area_and_unknown_names_are_refused():
    modules = areas.registered()
    assert [m.__name__ for m in modules] == sorted(_declared(areas.GROUP).values())
    updates = areas.area_hooks("update")
    assert updates and all(callable(hook) for hook in updates)
    assert {hook.__module__ for hook in areas.area_hooks("services")} >= {
        "sunaba.checks.hub",
        "sunaba.classroom.hub",
        "sunaba.showcase.hub",
    }
    with pytest.raises(ValueError, match="unknown area hook"):
        areas.area_hooks("servises")


def test_no_area_is_skipped_without_a_word(monkeypatch):
    areas.named.cache_clear()
    monkeypatch.setattr(areas, "entry_points", lambda group: [])
    try:
        with pytest.raises(areas.AreasMissing, match="pip install"):
            areas.registered()
    finally:
        areas.named.cache_clear()


def test_an_area_finds_what_it_gathered_under_its_own_name():
    """`gather` results are keyed by entry point name; an area that gathers reads them back
    under the name it declares for itself."""
    declared = _declared(areas.GROUP)
    for name, module in areas.named():
        if hasattr(module, "gather"):
            assert getattr(module, "AREA", None) == name, module.__name__
            assert declared[name] == module.__name__
