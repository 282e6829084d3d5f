"""The folders' import rules: the product and the tooling never import the tests, scripts/ (what
`make` runs) and tools/ (what the tests and the bench share) never import the bench, and no two
modules of one folder import each other, even from inside a function."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("functions", "stacks", "scripts", "tools", "bench", "tests")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> dict[str, set[str]]:
    """Each module of a folder (tools/azurite's npm packages aside), by dotted name."""
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): _imports(path)
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "node_modules" not in path.parts
    }


def _folders_imported(folder: str) -> set[str]:
    return {
        name.split(".")[0]
        for imports in _modules(folder).values()
        for name in imports
        if name.split(".")[0] in FOLDERS
    }


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("functions", {"stacks", "scripts", "tools", "bench", "tests"}),
        ("stacks", {"scripts", "tools", "bench", "tests"}),
        ("scripts", {"bench", "tests"}),
        ("tools", {"scripts", "bench", "tests"}),
        ("bench", {"tests"}),
    ],
)
def test_a_folder_imports_none_of_the_folders_that_depend_on_it(
    folder: str, forbidden: set[str]
) -> None:
    assert _folders_imported(folder) & forbidden == set()


@pytest.mark.parametrize("folder", ["scripts", "tools", "bench"])
def test_no_two_modules_of_a_folder_import_each_other(folder: str) -> None:
    modules = _modules(folder)
    edges = {
        name: {other for other in modules if other != name and other in imports}
        for name, imports in modules.items()
    }
    cycles = sorted(
        f"{a} <-> {b}" for a, targets in edges.items() for b in targets if a in edges[b]
    )
    assert cycles == []


def test_mutmut_copies_every_module_of_the_tooling_package() -> None:
    # tools/ is listed file by file (the folder holds Azurite's npm packages): a new module must
    # be added there, or the mutated copy's tests fail to import it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "tools").glob("*.py")}
    assert modules <= set(config["also_copy"])
