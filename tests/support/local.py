"""The local server as a child process on 127.0.0.1, for tests that talk HTTP to it."""

from __future__ import annotations

import sys
from pathlib import Path

from scripts.processes import Server, free_port


def start_local(name: str, workdir: Path, env: dict[str, str] | None = None) -> Server:
    """`python -m functions.local` on a free port with its data under `workdir/data`, ready."""
    port = free_port()
    settings = {"PORT": str(port), "DATA_DIR": str(workdir / "data"), **(env or {})}
    server = Server(name, [sys.executable, "-m", "functions.local"], port, workdir, settings)
    return server.wait_for_http("/health")
