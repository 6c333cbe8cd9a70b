"""Every package Sunaba imports is declared, every declared range is locked, and the install
uses the lock: the hub, the grader and every learner get the same versions."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CONSTRAINTS = REPO / "deploy" / "constraints.txt"
# Packages installed with the optional extras only: imported lazily, where they are used.
OPTIONAL_EXTRAS = ("k8s", "thumbnails")


def requirements(extras: tuple[str, ...] = ()) -> list[Requirement]:
    found = [Requirement(item) for item in PYPROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(item) for item in PYPROJECT["optional-dependencies"][extra]]
    return found


def imported_top_level_names() -> dict[str, set[str]]:
    """Third-party top-level modules imported anywhere in src/sunaba, with the files."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "src" / "sunaba").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "sunaba" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def locked() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        assert match, f"{CONSTRAINTS.name}: not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_every_imported_package_is_declared():
    declared = {canonicalize_name(req.name) for req in requirements(OPTIONAL_EXTRAS)}
    distributions = packages_distributions()
    undeclared = []
    for module, files in sorted(imported_top_level_names().items()):
        owners = {canonicalize_name(name) for name in distributions.get(module, [])}
        assert owners, f"{module} (imported in {sorted(files)}) belongs to no installed package"
        if not owners & declared:
            undeclared.append(f"{module} ({', '.join(sorted(owners))}) in {sorted(files)[0]}")
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)


def test_every_declared_range_is_locked_and_the_lock_fits_it():
    pins = locked()
    problems = []
    for req in requirements(OPTIONAL_EXTRAS):
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            problems.append(f"{req.name}: no pin in {CONSTRAINTS.name}")
        elif not req.specifier.contains(pin, prereleases=True):
            problems.append(f"{req.name}=={pin} is outside {req.specifier}")
    assert not problems, "\n".join(problems)


def test_the_installed_runtime_is_the_locked_one():
    """The prefix's venv (which the tests run in) was installed with the constraints."""
    pins = locked()
    differs = []
    for req in requirements():
        name = canonicalize_name(req.name)
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            differs.append(f"{req.name}: not installed")
            continue
        if installed != pins[name]:
            differs.append(f"{req.name}: {installed} installed, {pins[name]} locked")
    assert not differs, "\n".join(differs)


def test_jupyter_stack_is_a_range_not_a_pin():
    """Ranges in the package, exact versions only in the lock."""
    exact = [
        str(req) for req in requirements(OPTIONAL_EXTRAS) if str(req.specifier).startswith("==")
    ]
    assert exact == []


def test_the_language_pack_is_made_for_the_locked_jupyterlab():
    """A ja-JP pack is made for one JupyterLab minor (4.5.postN for 4.5): on a newer JupyterLab,
    the labels that minor added show in English to learners."""
    pins = locked()
    lab = Version(pins["jupyterlab"])
    pack = Version(pins["jupyterlab-language-pack-ja-jp"])
    assert (pack.major, pack.minor) == (lab.major, lab.minor), f"pack {pack} under JupyterLab {lab}"
    ranges = {canonicalize_name(req.name): req.specifier for req in requirements()}
    next_minor = f"{lab.major}.{lab.minor + 1}.0"
    assert not ranges["jupyterlab"].contains(next_minor), "the package admits the next minor"
