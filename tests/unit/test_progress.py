"""The line `make test` prints for a long test (tests/support/progress.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.progress import Running, after_seconds
from tools.processes import ROOT


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_a_test_is_mentioned_once_it_has_run_the_threshold_and_again_each_threshold_after() -> None:
    clock = Clock()
    running = Running(30.0, clock)
    running.start("tests/a.py::slow")
    clock.advance(10)
    running.start("tests/b.py::quick")
    clock.advance(19.9)
    assert running.overdue() == []
    clock.advance(0.1)
    assert running.overdue() == ["still running after 30 s: tests/a.py::slow"]
    assert running.overdue() == []  # said once, not on every tick
    running.end("tests/b.py::quick")
    clock.advance(30)
    assert running.overdue() == ["still running after 60 s: tests/a.py::slow"]
    running.end("tests/a.py::slow")
    clock.advance(100)
    assert running.overdue() == []


def test_the_threshold_comes_from_the_environment_and_a_bad_one_is_a_usage_error() -> None:
    assert after_seconds({}) == 30.0
    assert after_seconds({"LAMBDA_TEST_PROGRESS_S": "2.5"}) == 2.5
    with pytest.raises(pytest.UsageError, match="LAMBDA_TEST_PROGRESS_S='soon'"):
        after_seconds({"LAMBDA_TEST_PROGRESS_S": "soon"})


INNER = """
import time
from pathlib import Path

def test_waits_until_the_controller_said_it_is_still_running():
    # the controller writes to the outer run's stdout file; wait on that, bounded
    out = Path({out!r})
    deadline = time.monotonic() + 60
    while "still running after" not in out.read_text():
        assert time.monotonic() < deadline, "the controller never said it"
        time.sleep(0.05)
"""


def test_under_xdist_the_controller_prints_the_line_while_the_test_runs(tmp_path: Path) -> None:
    out = tmp_path / "stdout"
    (tmp_path / "conftest.py").write_text(
        "from tests.support.progress import register\n"
        "def pytest_configure(config):\n    register(config)\n"
    )
    (tmp_path / "test_inner.py").write_text(INNER.format(out=str(out)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LAMBDA_TEST_PROGRESS_S": "0.2"}
    with out.open("w") as sink:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-n",
                "1",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(tmp_path),
                str(tmp_path),
            ],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
    text = out.read_text()
    assert done.returncode == 0, text
    assert "still running after 0 s: test_inner.py::test_waits_until" in text, text
