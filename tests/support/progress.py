"""Progress through long tests: under pytest-xdist the controller prints a line for any test
that has been running (setup included) for LAMBDA_TEST_PROGRESS_S seconds (30 by default),
and again every as many seconds after, so a long fixture is never a silent stretch.

Only the controller prints: it sees every worker's `pytest_runtest_logstart` (xdist forwards
it, xdist/dsession.py `worker_logstart`) and final report, and it captures nothing, whereas a
worker's or a serial run's output is captured while the test runs. docs/testing.md."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

DEFAULT_AFTER_S = 30.0


class Running:
    """Which tests have started and not yet ended, and which of them are overdue for a line."""

    def __init__(self, after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.after_s = after_s
        self.clock = clock
        self._started: dict[str, float] = {}
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self, nodeid: str) -> None:
        with self._lock:
            now = self.clock()
            self._started[nodeid] = now
            self._next[nodeid] = now + self.after_s

    def end(self, nodeid: str) -> None:
        with self._lock:
            self._started.pop(nodeid, None)
            self._next.pop(nodeid, None)

    def overdue(self) -> list[str]:
        """A line for each test whose next mention is due; each is then due `after_s` later."""
        lines = []
        with self._lock:
            now = self.clock()
            for nodeid, due in sorted(self._next.items()):
                if now >= due:
                    lines.append(
                        f"still running after {now - self._started[nodeid]:.0f} s: {nodeid}"
                    )
                    self._next[nodeid] = now + self.after_s
        return lines


class Progress:
    """The controller's side: feeds `Running` from the hooks, prints from a daemon thread."""

    def __init__(self, config: pytest.Config, after_s: float) -> None:
        self.running = Running(after_s)
        self.config = config
        self.tick_s = min(after_s, 1.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="test-progress", daemon=True)

    def pytest_sessionstart(self) -> None:
        self._thread.start()

    def pytest_sessionfinish(self) -> None:
        self._stop.set()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running.start(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.running.end(report.nodeid)

    def _watch(self) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        while not self._stop.wait(self.tick_s):
            for line in self.running.overdue():
                if reporter is not None:
                    reporter.ensure_newline()
                    reporter.write_line(line, yellow=True)


def after_seconds(environ: dict[str, str] | os._Environ[str]) -> float:
    raw = environ.get("LAMBDA_TEST_PROGRESS_S", "")
    try:
        return float(raw) if raw else DEFAULT_AFTER_S
    except ValueError:
        raise pytest.UsageError(
            f"LAMBDA_TEST_PROGRESS_S={raw!r} is not a number of seconds"
        ) from None


def register(config: pytest.Config) -> None:
    """On the xdist controller only (a worker has `workerinput`; `-n 0` runs serially)."""
    distributed = getattr(config.option, "numprocesses", None) not in (None, 0)
    if distributed and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Progress(config, after_seconds(os.environ)), "progress")
