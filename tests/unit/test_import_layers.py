"""Sunaba's packages are layered: no subpackage imports itself back through others (sunaba.X →
sunaba.Y → … → sunaba.X), and no module does. Every import counts, also those inside functions:
a lazy import hides a dependency from the start-up order, not from the design."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sunaba"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules of `sunaba` that the file at `path` imports, resolved to modules (a name
    imported from a package counts as that package's submodule when there is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` imports the module; `from module import name`
            # the module.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    modules = set(paths)
    return {name: imported_modules(path, name, modules) for name, path in paths.items()}


def subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() else None


def package_graph(graph: dict[str, set[str]]) -> tuple[dict[str, set[str]], dict]:
    """The subpackages each subpackage imports, and one module import behind each of those."""
    packages: dict[str, set[str]] = {}
    example: dict[tuple[str, str], str] = {}
    for source, targets in sorted(graph.items()):
        a = subpackage(source)
        if a is None:
            continue
        packages.setdefault(a, set())
        for target in sorted(targets):
            b = subpackage(target)
            if b and b != a:
                packages[a].add(b)
                example.setdefault((a, b), f"{source} -> {target}")
    return packages, example


def cycle_groups(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import one another, directly or not (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def shortest_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle in {sorted(group)}")


def test_no_subpackage_imports_itself_back():
    packages, example = package_graph(import_graph())
    found = []
    for group in cycle_groups(packages):
        cycle = shortest_cycle(packages, group)
        steps = [example[(a, b)] for a, b in zip(cycle, cycle[1:], strict=False)]
        found.append(" -> ".join(cycle) + "\n      " + "\n      ".join(steps))
    assert not found, "subpackages importing themselves back:\n  " + "\n  ".join(found)


def test_no_module_imports_itself_back():
    graph = import_graph()
    cycles = [shortest_cycle(graph, group) for group in cycle_groups(graph)]
    assert not cycles, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in cycles)


def test_imports_inside_functions_and_relative_ones_count(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "import sunaba.a.low\n"
        "from . import sibling\n"
        "from ..b import mid\n"
        "def later():\n"
        "    from sunaba.c.top import name\n",
        encoding="utf-8",
    )
    modules = {"sunaba.a.low", "sunaba.d.sibling", "sunaba.b", "sunaba.b.mid", "sunaba.c.top"}
    found = imported_modules(source, "sunaba.d.example", modules)
    assert found == {"sunaba.a.low", "sunaba.d.sibling", "sunaba.b.mid", "sunaba.c.top"}


def test_a_cycle_of_packages_and_one_of_modules_are_found():
    graph = {
        "sunaba.x.one": {"sunaba.y.two"},
        "sunaba.y.two": {"sunaba.y.three", "sunaba.z.five"},
        "sunaba.y.three": {"sunaba.x.one"},
        "sunaba.y.four": set(),
        "sunaba.z.five": {"sunaba.x.one"},
    }
    packages, example = package_graph(graph)
    assert packages == {"x": {"y"}, "y": {"x", "z"}, "z": {"x"}}
    assert example[("z", "x")] == "sunaba.z.five -> sunaba.x.one"
    [group] = cycle_groups(packages)
    assert group == {"x", "y", "z"}
    assert shortest_cycle(packages, group) == ["x", "y", "x"]
    [group] = cycle_groups(graph)
    assert shortest_cycle(graph, group) == [
        "sunaba.x.one",
        "sunaba.y.two",
        "sunaba.y.three",
        "sunaba.x.one",
    ]


def test_the_core_imports_no_area():
    """`sunaba.core` is what every area may use: it may itself use only `sunaba.config`."""
    graph = import_graph()
    reaching = {
        f"{source} -> {target}"
        for source, targets in graph.items()
        if subpackage(source) == "core"
        for target in targets
        if subpackage(target) not in ("core", "config")
    }
    assert not reaching, "the core imports areas:\n  " + "\n  ".join(sorted(reaching))


def late_imports_without_reason(path: Path) -> list[str]:
    """Imports of Sunaba's own modules inside a function with no comment on the line above."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in node.body:
            for sub in ast.walk(inner):
                if not isinstance(sub, ast.ImportFrom) or not (sub.module or "").startswith(
                    "sunaba"
                ):
                    continue
                above = lines[sub.lineno - 2].strip()
                if not above.startswith("#") and not above.startswith("from sunaba"):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{sub.lineno}")
    return sorted(set(found))


def test_an_import_inside_a_function_says_why():
    """A module imports what it uses at the top; an import inside a function is the exception
    (a kernel or a hub process kept light, an optional extra), and a comment says which. The
    command-line modules are the rule's one exception: each subcommand imports what it runs,
    so that `sunaba --help` and every other subcommand start fast."""
    hidden = [
        place
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.name.endswith("cli.py")
        for place in late_imports_without_reason(path)
    ]
    assert not hidden, "import inside a function with no reason:\n" + "\n".join(hidden)
