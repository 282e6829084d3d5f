"""The tooling package is copied whole into mutmut's mutated tree. (The folders' import rules
are import-linter contracts in pyproject.toml; tests/unit/test_architecture.py proves each.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mutmut_copies_every_module_of_the_tooling_package() -> None:
    # tools/ is listed file by file (the folder holds Azurite's npm packages): a new module must
    # be added there, or the mutated copy's tests fail to import it.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "tools").glob("*.py")}
    assert modules <= set(config["also_copy"])
