"""Start servers the tests need as child processes on 127.0.0.1, and always stop them.

Each child leads its own process group and gets PR_SET_PDEATHSIG, so that it dies with the
test run even if pytest itself is killed; `stop` ends that group only (the child and what it
forked, such as gunicorn's workers under functions-framework), by its id.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Server:
    """A child process listening on 127.0.0.1:port."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def wait_until(self, ready: Callable[[], bool], timeout: float = 30.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready in {timeout}s:\n{self.log()}")

    def wait_for_port(self, timeout: float = 30.0) -> Server:
        return self.wait_until(lambda: port_open(self.port), timeout)

    def wait_for_http(self, path: str, timeout: float = 30.0) -> Server:
        return self.wait_until(lambda: http_ok(self.url + path), timeout)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        group = self.process.pid  # the child leads its own group (start_new_session)
        if self.process.poll() is None:
            _signal_group(group, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                self.process.wait()
        # Whatever the child forked and left behind (gunicorn workers, say) goes too.
        _signal_group(group, signal.SIGKILL)
        self._log.close()


def stop_all(servers: Sequence[Server], timeout: float = 10.0) -> None:
    """Stop every server at once: SIGTERM to all, one shared wait, then SIGKILL what is left.
    One by one, each slow server cost its own 10 s: an interrupted bench sat silent for 40 s
    before it cleaned up (and a second Ctrl-C then left its files behind)."""
    running = [s for s in servers if s.process.poll() is None]
    for server in running:
        _signal_group(server.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for server in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for server in servers:
        server.stop()  # SIGKILLs whatever is still running, and its group


def interrupt_on_signals(say: Callable[[str], None] = print) -> None:
    """Ctrl-C and `kill` raise KeyboardInterrupt, so every `finally` and `with` stops its
    servers and removes its files; even when the process was started with SIGINT ignored (a
    background job of a non-interactive shell, nohup: Python then installs no handler of its
    own). Only the first signal interrupts: one that comes while the cleanup runs is said and
    otherwise ignored, so a second Ctrl-C no longer leaves the files behind."""
    stops = (signal.SIGINT, signal.SIGTERM)

    def cleaning_up(_signum: int, _frame: object) -> None:
        say("still stopping servers and removing temporary files ...")

    def interrupt(_signum: int, _frame: object) -> None:
        for sig in stops:
            signal.signal(sig, cleaning_up)
        raise KeyboardInterrupt

    for sig in stops:
        signal.signal(sig, interrupt)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status < 500)
    except (urllib.error.URLError, OSError):
        return False
