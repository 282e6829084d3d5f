"""The local server's worker processes: forked from one supervisor on one listening socket,
balanced by the connections each holds, stopped together (Ctrl-C, SIGTERM, one worker's exit,
or the supervisor's death however it died). See docs/architecture.md (the local server).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any


class Shares:
    """How many connections each worker process holds, in memory they share (mapped before the
    fork). A worker takes new connections only while it holds no more than the least loaded
    one: the kernel gives a connection on a shared listening socket to whichever process calls
    accept() first: left alone, one process took 12 of wrk's 16 keep-alive connections, or all
    16 of a burst, and its single core (its interpreter lock) then capped the whole server."""

    def __init__(self, workers: int) -> None:
        self._memory = mmap.mmap(-1, 8 * workers)  # anonymous and shared: seen across fork()
        self._held = memoryview(self._memory).cast("q")

    def may_accept(self, worker: int, held: int) -> bool:
        self._held[worker] = held  # each worker writes its own slot only
        return held <= min(self._held)

    def held(self) -> list[int]:
        return list(self._held)


# A worker that stopped taking connections looks again at least this often, even with no
# traffic of its own to wake it (waitress's loop otherwise sleeps up to a second).
RECHECK_S = 0.05


def balance(server: Any, shares: Shares, worker: int) -> None:
    """Make a waitress server accept only while `shares` says this worker may. Its map holds
    its connections besides its listener and wake-up pipe, the same two in every worker."""
    limited = server.readable  # waitress's own check: the connection limit

    def readable() -> bool:
        return bool(limited()) and shares.may_accept(worker, len(server._map))

    server.readable = readable
    server.adj.asyncore_loop_timeout = RECHECK_S


def run_workers(workers: int, make: Callable[[bool], Any]) -> None:
    """`make(first)` builds a server in each of `workers` forked processes (`first` in one of
    them), balanced by their connection counts; in this process when there is one (or no fork,
    on Windows)."""
    # Both signals stop the server, set here before the forks (no window to orphan a worker).
    # SIGINT too: a process started with it ignored (nohup, `&` in a script, some CI agents)
    # keeps it ignored, and Ctrl-C could not stop it.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupt_once)
    if workers == 1 or not hasattr(os, "fork"):
        _run(make(True))
        return
    shares = Shares(workers)
    # The supervisor holds the only write end of this pipe and never writes: when it dies, even
    # by SIGKILL (which it cannot catch to stop its workers), the kernel closes it and every
    # worker's read ends, and the worker stops (see `_watch_supervisor`).
    lifeline, held = os.pipe()
    pids = [_fork_worker(make, n, shares, (lifeline, held)) for n in range(workers)]
    os.close(lifeline)
    _supervise(pids)


def _run(server: Any) -> None:
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _watch_supervisor(lifeline: int) -> None:
    """In a worker: SIGTERM itself (a clean stop, as the supervisor's own would be) once the
    supervisor's end of `lifeline` is closed, i.e. once the supervisor is gone however it died.
    A pipe rather than Linux's PR_SET_PDEATHSIG: the same on macOS, and no race with a parent
    that died before the call."""

    def watch() -> None:
        while True:
            try:
                if not os.read(lifeline, 1):
                    break
            except InterruptedError:
                continue
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _fork_worker(
    make: Callable[[bool], Any], worker: int, shares: Shares, pipe: tuple[int, int]
) -> int:
    pid = os.fork()
    if pid == 0:  # the worker: no thread exists before this fork
        code = 0
        try:
            signal.signal(signal.SIGTERM, interrupt_once)
            os.close(pipe[1])  # the supervisor's end: only the supervisor may hold it open
            _watch_supervisor(pipe[0])
            server = make(worker == 0)
            balance(server, shares, worker)
            _run(server)
        except KeyboardInterrupt:
            pass  # stopped while it was still starting: a stop, not a crash
        except BaseException:  # printed here; the supervisor sees the exit code
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    return pid


def interrupt_once(signum: int, frame: Any) -> None:
    """The first Ctrl-C or SIGTERM stops the process; later ones (a second Ctrl-C, `timeout`'s
    follow-up) are ignored, so they cannot cut the stopping short with a traceback and leave a
    worker unreaped."""
    stops = (signal.SIGTERM, signal.SIGINT)
    for sig in stops:
        # A handler that does nothing, not SIG_IGN: a signal that arrived with this one is
        # already pending, and CPython raises "Signal 15 ignored due to race condition" for a
        # pending signal whose handler became SIG_IGN.
        signal.signal(sig, _already_stopping)
    # And held back from here on: CPython puts the default handlers back as the interpreter
    # exits, and a late Ctrl-C then killed the process in its last moments (exit -2, not 0).
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    raise KeyboardInterrupt


def _already_stopping(signum: int, frame: Any) -> None:
    """A stop signal while stopping: the first one is being acted on."""


def _supervise(children: list[int]) -> None:
    """Wait for the workers; on Ctrl-C, SIGTERM or any worker's exit, stop them all."""
    alive = set(children)
    code = 0
    try:
        pid, status = os.wait()
        alive.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        print(f"lambda: worker {pid} exited ({code}): stopping the others", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in alive:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    if code:
        raise SystemExit(1)
