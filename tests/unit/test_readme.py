"""The README documents every setting the code reads."""

from __future__ import annotations

from pathlib import Path

from functions.core import settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_environment_variable_the_code_reads_is_in_the_configuration_table() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = {
        value
        for key, value in vars(settings).items()
        if (key.isupper() and isinstance(value, str) and value.isupper() and "_" in value)
        or key in ("HOST", "PORT")
    }
    missing = sorted(name for name in names if f"`{name}`" not in table)
    assert missing == [], f"not documented in README's configuration table: {missing}"
