"""`make serve` restarts the server when a Python file under functions/ changes: the server runs
in a child process, watchfiles (the watcher uvicorn uses) reports the changes. See
docs/architecture.md (the local server)."""

from __future__ import annotations

import contextlib
import itertools
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from watchfiles import PythonFilter, watch

from functions.local.workers import interrupt_once

# A stopped server's supervisor stops its workers within waitress's own shutdown; past this, it
# is killed, so a hung worker cannot hold a restart forever.
STOP_TIMEOUT_S = 10.0
# How often the watcher looks at the child between changes (watchfiles' rust_timeout, ms).
CHECK_MS = 200


STOPS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def deferred_stops() -> Iterator[None]:
    """Ctrl-C or SIGTERM waits until a restart is done: arriving between starting a server and
    keeping hold of it, it left that server running on its own (found by the tests)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # a pending one is raised here


def _unblock() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # the server inherits the mask


def start(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(argv), preexec_fn=_unblock)


def stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()  # SIGTERM: the supervisor stops every worker (server.py)
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve_with_reload(argv: Sequence[str], paths: Sequence[Path]) -> int:
    """Run `argv` and run it again after each change to a .py file under `paths`. The first
    run's own exit (a bad setting, a busy port) ends this with its exit code; after a reload, a
    server that exits (a syntax error in the change) waits for the next change. Ctrl-C or
    SIGTERM stops the server and returns 0."""
    for sig in STOPS:  # SIGINT too: see workers.run_workers
        signal.signal(sig, interrupt_once)
    changes_seen = watch(
        *paths,
        watch_filter=PythonFilter(),
        rust_timeout=CHECK_MS,
        yield_on_timeout=True,
        debounce=400,
    )
    child: subprocess.Popen[bytes] | None = None
    reloaded = reported = False
    try:
        # A stop signal held back here is raised as the block ends, inside the `try`: the
        # server just started is then stopped like any other.
        with deferred_stops():
            child = start(argv)
            # watchfiles starts its inotify thread on the first step (which waits up to
            # CHECK_MS). Started with the stop signals blocked, that thread keeps them blocked,
            # so the kernel hands them to this thread alone; otherwise a `kill` delivered to that
            # thread ran the handler here in the middle of a restart, and a new server was left
            # running on its own (found in review).
            first = next(changes_seen)
        for changes in itertools.chain([first], changes_seen):
            if changes:
                names = ", ".join(sorted({Path(p).name for _, p in changes}))
                print(f"lambda: {names} changed: restarting the server", file=sys.stderr)
                with deferred_stops():
                    stop(child)
                    child, reloaded, reported = start(argv), True, False
            elif child.poll() is not None:
                if not reloaded:
                    return child.returncode
                if not reported:
                    print(
                        f"lambda: the server exited ({child.returncode}): waiting for a change",
                        file=sys.stderr,
                    )
                    reported = True
    except KeyboardInterrupt:
        pass
    finally:
        if child is not None:
            with contextlib.suppress(KeyboardInterrupt):
                stop(child)
    return 0
