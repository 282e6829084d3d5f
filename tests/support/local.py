"""The local server on 127.0.0.1, for tests that talk HTTP to it: as a child process (what
`make serve` runs), or in this process on a thread, where a mutation tool sees what it runs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from functions.core.settings import Settings
from tools.processes import Server, free_port


def start_local(name: str, workdir: Path, env: dict[str, str] | None = None) -> Server:
    """`python -m functions.local` on a free port with its data under `workdir/data`, ready."""
    port = free_port()
    settings = {"PORT": str(port), "DATA_DIR": str(workdir / "data"), **(env or {})}
    server = Server(name, [sys.executable, "-m", "functions.local"], port, workdir, settings)
    return server.wait_for_http("/health")


class InProcess:
    """The same server as `python -m functions.local` (functions.local.server.create), run on a
    thread of the test process; `stop()` closes it."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        from functions.local.server import create, read_token

        values = {"PORT": "0", "DATA_DIR": str(workdir / "data"), **(env or {})}
        self._server: Any = create(read_token(Settings.from_env(values)))
        self.port = int(self._server.effective_port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-server", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:  # its sockets closed under its poll by stop()
            if not self._stopping.is_set():
                raise

    def stop(self) -> None:
        self._stopping.set()
        self._server.close()
        self._thread.join(10)
