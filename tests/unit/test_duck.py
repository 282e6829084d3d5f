"""DuckDB spills to the platform's writable temp directory, within half the function's memory,
when the working directory is not writable (Lambda's /var/task, Azure's package mount)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from functions.core import duck
from functions.core.settings import Settings
from tools.processes import ROOT

SORT_BEYOND_MEMORY = (
    "CREATE TABLE t AS SELECT i, md5(i::VARCHAR) m FROM range(4000000) t(i) ORDER BY m"
)


def run_in_unwritable_cwd(tmp_path: Path, connect: str) -> subprocess.CompletedProcess[str]:
    # GIVEN a working directory where DuckDB cannot create its default `.tmp` (root can write
    # to a read-only-mode directory, so a file of that name stands in for the read-only mount)
    cwd = tmp_path / "task"
    cwd.mkdir()
    (cwd / ".tmp").write_text("")
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        f"{connect}\n"
        f"con.execute({SORT_BEYOND_MEMORY!r})\n"
        "print(con.execute('SELECT count(*) FROM t').fetchone()[0])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.isolated
def test_a_sort_larger_than_memory_spills_to_the_temp_directory(tmp_path: Path) -> None:
    spill_root = tmp_path / "platform-tmp"
    spill_root.mkdir()
    done = run_in_unwritable_cwd(
        tmp_path,
        "from functions.core import duck\n"
        f"con = duck.connect(128, {str(spill_root)!r})\n"
        "con.execute('SET threads = 1')",
    )
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.strip() == "4000000"
    assert (spill_root / "lambda-duckdb").is_dir()


@pytest.mark.isolated
def test_duckdbs_default_fails_there_which_is_what_the_config_fixes(tmp_path: Path) -> None:
    done = run_in_unwritable_cwd(
        tmp_path,
        "import duckdb\ncon = duckdb.connect(config={'memory_limit': '64MB', 'threads': 1})",
    )
    assert done.returncode != 0
    assert "Failed to create directory" in done.stderr


def test_the_memory_limit_is_half_the_functions_memory_and_never_tiny(tmp_path: Path) -> None:
    assert duck.config(512, str(tmp_path))["memory_limit"] == "256MB"
    assert duck.config(100, str(tmp_path))["memory_limit"] == "64MB"
    assert "memory_limit" not in duck.config(None, str(tmp_path))  # DuckDB's own default


def test_the_functions_memory_comes_from_the_stack_or_from_lambda_itself() -> None:
    assert Settings.from_env({"LAMBDA_MEMORY_MB": "768"}).memory_mb == 768
    assert Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}).memory_mb == 1024
    assert Settings.from_env({}).memory_mb is None
