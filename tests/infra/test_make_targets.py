"""The Makefile's papercuts, pinned: what each target runs (`make -n`, which runs nothing but
the Makefile's own `$(shell)` look-ups) and what it checks before it deletes anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.processes import ROOT


def dry_run(*args: str, cwd: Path = ROOT) -> str:
    # Run as a top-level make: under `make test` the inherited MAKELEVEL would have it print
    # "make[1]: Entering directory" around the commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    return done.stdout


@pytest.mark.parametrize("target", [["smoke", "URL=http://x"], ["compact"]])
def test_smoke_and_compact_run_in_the_serving_environment_not_the_test_one(
    target: list[str],
) -> None:
    commands = dry_run(*target, "SERVE_STAMP=.venv-serve/.never-synced")
    assert ".venv-serve/bin/python -m " in commands
    assert ".venv/bin/python" not in commands
    assert "requirements.lock " not in commands.replace("-c requirements.lock", "")


def test_compact_takes_the_look_back_as_hours() -> None:
    assert "functions.local.compact --lookback-hours 72" in dry_run("compact", "HOURS=72")
    assert dry_run("compact").rstrip().endswith("functions.local.compact")


def test_clean_removes_pycache_and_says_that_data_is_kept() -> None:
    commands = dry_run("clean")
    assert "-name __pycache__" in commands
    assert ".data is kept" in commands
    assert "rm -rf .data" not in commands.replace("rm -rf .data removes it", "")


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """The Makefile in a folder of its own, with a working .venv-serve and uv that must survive."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_text("")
    for tool in (".tools/uv/bin/uv", ".venv-serve/bin/python"):
        (tmp_path / tool).parent.mkdir(parents=True)
        (tmp_path / tool).write_text("#!/bin/sh\nexit 1\n")  # "another version": would be rebuilt
        (tmp_path / tool).chmod(0o755)
    return tmp_path


@pytest.mark.parametrize(
    ("version", "says"),
    [
        ("3.10", "PY_VERSION=3.10: LAMBDA needs Python 3.11 or newer"),
        ("3.9", "PY_VERSION=3.9: LAMBDA needs Python 3.11 or newer"),
        ("3.99", "no Python 3.99 found: install it"),
    ],
)
def test_a_wrong_py_version_is_refused_before_the_venv_is_deleted(
    sandbox: Path, version: str, says: str
) -> None:
    done = subprocess.run(
        ["make", "-s", "serve", f"PY_VERSION={version}"],
        cwd=sandbox,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stdout
    assert (sandbox / ".venv-serve/bin/python").exists()  # it was deleted first


def test_make_cost_prints_each_clouds_monthly_total_and_other_memory_sizes() -> None:
    done = subprocess.run(
        ["make", "-s", "cost", "RATE=10/s", "SERVE_STAMP=", f"SERVE_PY={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "10 webhooks/s = 25,920,000 a month (30 days)" in done.stdout
    for cloud in ("aws", "gcp", "azure"):
        assert f"\n{cloud}: " in done.stdout
    assert done.stdout.count("total a month") == 3
    assert done.stdout.count("at other memory sizes:") == 3
    assert "512 MB $" not in done.stdout.split("\nazure: ")[1]  # Flex instances are >= 2048


def test_make_cost_without_a_rate_says_how_to_give_one() -> None:
    done = subprocess.run(
        ["make", "-s", "cost", "SERVE_STAMP="], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "usage: make cost RATE=50/s" in done.stdout
