"""The same local app under other WSGI servers, for the ingest bench's side-by-side rows:
gunicorn (pre-forked processes, threaded workers) and granian (a Rust server). `make serve`
runs waitress; these run only here.

`build()` makes the local app exactly as `python -m functions.local` does (settings from the
environment, files under DATA_DIR), wrapped the same way; each server process builds its own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from functions.local.server import THREADS, default_workers
from tools.processes import Server, free_port

WORKERS = default_workers()  # as many processes as `make serve` runs, for a like-for-like row
SERVERS = {
    "gunicorn": f"gunicorn, {WORKERS} processes x {THREADS} threads",
    "granian": f"granian, {WORKERS} processes x {THREADS} threads",
}


def build() -> Any:
    """The WSGI app, built in each server process (the servers call this factory)."""
    from functions.core.settings import Settings
    from functions.local.server import build_app, lean_logging, read_token
    from functions.wsgi import wsgi_app

    lean_logging()
    settings = read_token(Settings.from_env())
    return wsgi_app(build_app(settings).handle, settings.max_body_bytes)


def argv(server: str, port: int) -> list[str]:
    bindir = Path(sys.executable).parent
    if server == "gunicorn":
        return [
            str(bindir / "gunicorn"),
            f"--workers={WORKERS}",
            "--worker-class=gthread",
            f"--threads={THREADS}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "bench.servers:build()",
        ]
    return [
        str(bindir / "granian"),
        "--interface=wsgi",
        f"--workers={WORKERS}",
        f"--blocking-threads={THREADS}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--log-level=warning",
        "--factory",
        "bench.servers:build",
    ]


def start(server: str, name: str, workdir: Path, env: dict[str, str]) -> Server:
    port = free_port()
    return Server(name, argv(server, port), port, workdir, env).wait_for_http("/health")
