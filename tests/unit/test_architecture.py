"""The architecture's rules (docs/architecture.md) hold, and their checks can fail.

`make lint` runs import-linter over the tree with the contracts in pyproject.toml; these tests
break a copy of the tree on purpose and check that the same contracts catch it.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("functions", "stacks", "scripts", "bench", "tests", "tools")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def copy_tree(target: Path) -> Path:
    """The Python packages and pyproject.toml, as import-linter reads them."""
    for name in PACKAGES:
        if (ROOT / name / "__init__.py").exists():
            shutil.copytree(
                ROOT / name,
                target / name,
                ignore=lambda folder, names: [n for n in names if n in ("node_modules", "results")],
            )
    shutil.copy(ROOT / "pyproject.toml", target)
    return target


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_tree(tmp_path_factory.mktemp("pristine"))


def test_the_tree_keeps_every_import_contract(pristine: Path) -> None:
    result = lint_imports(pristine)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("functions/core/events.py", "import boto3", "The core imports no adapter"),
        ("functions/core/ingest.py", "import functions.local.store", "The core imports no adapter"),
        (
            "functions/aws/store.py",
            "import functions.gcp.store",
            "adapter stands alone",
        ),
        ("functions/aws/handler.py", "import stacks.config", "imports no infrastructure"),
        ("functions/core/events.py", "import functions.core.handlers", "No import cycles"),
        ("stacks/config.py", "import tests.support.fakes", "Tooling sits above the product"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = copy_tree(tmp_path)
    append(tree / module, line)
    result = lint_imports(tree)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


SETTINGS_LOADERS = {"functions/core/settings.py", "stacks/config.py"}


def reads_of_the_environment(source: str) -> list[int]:
    """The lines that read the process environment: os.environ, os.environb, os.getenv, or
    either name imported from os."""
    names = {"environ", "environb", "getenv"}
    lines = []
    for node in ast.walk(ast.parse(source)):
        attribute = (
            isinstance(node, ast.Attribute)
            and node.attr in names
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and bool({a.name for a in node.names} & names)
        )
        if attribute or imported:
            lines.append(node.lineno)  # type: ignore[attr-defined]
    return lines


@pytest.mark.parametrize(
    "source",
    [
        "import os\nx = os.environ['A']",
        "import os\nx = os.getenv('A')",
        "from os import environ\n",
        "from os import getenv as g\n",
        "import os\ndef f():\n    return {**os.environ}",
    ],
)
def test_the_environment_check_sees_each_way_of_reading_it(source: str) -> None:
    assert reads_of_the_environment(source) != []


def test_only_the_two_settings_loaders_read_the_environment() -> None:
    # Settings are read once, into a frozen object (shared/STYLE.md #6): functions/ through
    # functions/core/settings.py, the Pulumi program through stacks/config.py.
    readers = {
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("functions", "stacks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in SETTINGS_LOADERS
        for line in reads_of_the_environment(path.read_text())
    }
    assert readers == set()
    for loader in SETTINGS_LOADERS:
        assert reads_of_the_environment((ROOT / loader).read_text()), loader
