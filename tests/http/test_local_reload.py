"""`make serve` (`python -m functions.local --reload`): the server restarts when a watched .py
file changes, and only then; a bad setting still stops it at once; a signal stops it all.
The tests watch a folder of their own, never the project's functions/."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.http.test_local_workers import alive, children
from tools.processes import ROOT, free_port, http_ok

# Bounded by what the system allows itself: the watcher's debounce and check (reload.py) and
# a server's start, which the other local tests give 30 s.
DEADLINE_S = 30.0


def until(outcome: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not outcome():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def watcher(folder: Path) -> list[str]:
    """`make serve`'s command, watching `folder` instead of functions/."""
    return [sys.executable, "-m", "functions.local", "--reload", "--watch", str(folder)]


def run_to_its_end(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        watcher(folder), cwd=ROOT, env=env, capture_output=True, text=True, timeout=DEADLINE_S
    )


@pytest.fixture
def reloading(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    watched = tmp_path / "watched"
    watched.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
        "LAMBDA_WORKERS": "2",
        "LAMBDA_LOG_LEVEL": "WARNING",
    }
    argv = watcher(watched)
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    url = f"http://127.0.0.1:{port}"
    until(lambda: http_ok(f"{url}/health") and len(server_pids(proc)) == 1, "the server answers")
    yield proc, url, watched
    for pid in [*server_pids(proc), proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    proc.communicate(timeout=DEADLINE_S)


def next_restart_line(proc: subprocess.Popen[str]) -> str:
    """The watcher's next "... changed: restarting" line on stderr, past whatever else the
    server writes there (waitress warns "Task queue depth is N" when a loaded machine makes
    requests wait for a thread)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if " changed: " in line:
            return line
    raise AssertionError("stderr closed before the watcher said it was restarting")


def server_pids(proc: subprocess.Popen[str]) -> set[int]:
    """The server (the supervisor) the watcher runs as its child."""
    return children(proc.pid)


def test_a_changed_python_file_restarts_the_server(
    reloading: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, url, watched = reloading
    (first,) = server_pids(proc)
    (watched / "routes.py").write_text("CHANGED = True\n")
    until(lambda: not alive(first), "the old server stops")
    until(lambda: len(server_pids(proc)) == 1 and http_ok(f"{url}/health"), "a new one answers")
    assert server_pids(proc) != {first}
    assert proc.poll() is None


def test_a_file_that_is_not_python_does_not_restart_it(
    reloading: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, _, watched = reloading
    (first,) = server_pids(proc)
    # GIVEN a text file written first, then a .py file: only the second restarts the server
    (watched / "notes.txt").write_text("not code\n")
    (watched / "module.py").write_text("X = 1\n")
    until(lambda: not alive(first), "the .py change restarts it")
    assert next_restart_line(proc) == "lambda: module.py changed: restarting the server\n"


@pytest.mark.parametrize(
    "sigs",
    [[signal.SIGINT], [signal.SIGTERM], [signal.SIGTERM, signal.SIGINT]],
    ids=["ctrl-c", "sigterm", "sigterm-then-ctrl-c"],
)
def test_a_signal_stops_the_watcher_and_the_server(
    reloading: tuple[subprocess.Popen[str], str, Path], sigs: list[signal.Signals]
) -> None:
    proc, _, _ = reloading
    server = server_pids(proc)
    workers = {w for s in server for w in children(s)}
    for sig in sigs:  # a second one arrives while the first is being acted on
        proc.send_signal(sig)
    assert proc.wait(timeout=DEADLINE_S) == 0
    assert not any(alive(pid) for pid in server | workers)
    assert proc.stderr is not None
    errors = proc.stderr.read()
    assert "Traceback" not in errors, errors


def processes_serving(data_dir: Path) -> list[int]:
    """Every process (orphans too) serving this test's DATA_DIR, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if f"DATA_DIR={data_dir}\0".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
    return found


def test_a_signal_during_a_restart_leaves_no_server_behind(
    reloading: tuple[subprocess.Popen[str], str, Path], tmp_path: Path
) -> None:
    # GIVEN a change that starts a restart, WHEN SIGTERM arrives in the middle of it (or just
    # before, or after: the outcome must be the same), THEN the watcher exits and no server
    # is left running on its own (one was, before restarts deferred the signal)
    proc, _, watched = reloading
    (watched / "edit.py").write_text("X = 2\n")
    assert "edit.py changed" in next_restart_line(proc)  # the restart has begun
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE_S) == 0
    until(lambda: not processes_serving(tmp_path / "data"), "every server has stopped")


def test_a_bad_setting_stops_the_reloading_server_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PORT": "http", "DATA_DIR": str(tmp_path)}
    done = run_to_its_end(tmp_path, env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "'PORT' has an invalid value" in done.stderr


def test_a_busy_port_ends_the_first_run_and_the_watcher_with_it(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            "PATH": "/usr/bin:/bin",
            "PORT": str(taken.getsockname()[1]),
            "DATA_DIR": str(tmp_path),
        }
        done = run_to_its_end(tmp_path, env)
    assert done.returncode == 2
    assert "is in use: set PORT to a free one" in done.stderr


def blocked_signals(pid: int, tid: int) -> set[int]:
    """The signals thread `tid` of process `pid` blocks, from /proc (SigBlk, a hex mask)."""
    status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    mask = int(
        next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk")), 16
    )
    return {sig for sig in range(1, 65) if mask & (1 << (sig - 1))}


def test_every_thread_of_the_watcher_but_the_main_one_blocks_the_stop_signals(
    reloading: tuple[subprocess.Popen[str], str, Path],
) -> None:
    # A process-directed signal goes to any thread that does not block it. If the file
    # watcher's thread took SIGTERM, the handler would run in the main thread in the middle of
    # a restart, which deferred_stops() keeps signals out of, and leave a server on its own.
    proc, _, _ = reloading
    # The watcher holds the signals back while it starts the server and its file thread (a
    # signal then waits for the end of that step, tested above): wait for that to end.
    stops = {signal.SIGINT, signal.SIGTERM}
    until(lambda: not stops & blocked_signals(proc.pid, proc.pid), "the start-up step ends")
    threads = [int(t.name) for t in Path(f"/proc/{proc.pid}/task").iterdir()]
    others = [tid for tid in threads if tid != proc.pid]
    assert others, "the watcher runs its file watching in a thread of its own"
    for tid in others:
        assert {signal.SIGINT, signal.SIGTERM} <= blocked_signals(proc.pid, tid), tid
    assert not {signal.SIGINT, signal.SIGTERM} & blocked_signals(proc.pid, proc.pid)


def test_a_signal_while_the_watcher_starts_stops_it_and_the_server(tmp_path: Path) -> None:
    # GIVEN the watcher in its first step (the server started, the file thread starting, the
    # stop signals held back), WHEN SIGTERM comes, THEN it is acted on as that step ends: the
    # watcher exits 0, no server is left, and no traceback (it once escaped the `try`)
    watched = tmp_path / "watched"
    watched.mkdir()
    env = {**os.environ, "PORT": str(free_port()), "DATA_DIR": str(tmp_path / "data")}
    argv = watcher(watched)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    until(lambda: server_pids(proc), "the server has started")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=DEADLINE_S) == 0
    assert proc.stderr is not None
    errors = proc.stderr.read()
    assert "Traceback" not in errors, errors
    until(lambda: not processes_serving(tmp_path / "data"), "every server has stopped")
