"""`python -m functions.local`: the app on the local filesystem, served by waitress in two
processes per CPU."""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from functions.core.app import App
from functions.core.errors import ConfigError
from functions.core.services import Services
from functions.core.settings import READ_TOKEN, Settings
from functions.local.durable import syncfs_missing
from functions.local.store import FileBlobStore
from functions.local.workers import run_workers
from functions.wsgi import wsgi_app

THREADS = 16  # per worker process
PER_CPU = 2  # worker processes per CPU (see default_workers)
MAX_WORKERS = 8
BACKLOG = 1024


def build_app(settings: Settings) -> App:
    return App(Services(settings, "local", lambda: local_store(settings)))


def local_store(settings: Settings) -> FileBlobStore:
    return FileBlobStore(Path(settings.data_dir), settings.sync)


def sync_mode(settings: Settings) -> str:
    """The flush the store will use (LAMBDA_SYNC), or one line saying why it cannot be had."""
    missing = syncfs_missing() if settings.sync == "syncfs" else None
    if missing:
        fail(f"LAMBDA_SYNC=syncfs cannot be honoured: {missing}; leave LAMBDA_SYNC unset (fsync)")
    return settings.sync


def retry_loop(run: Callable[[], object], log: logging.Logger, interval: float) -> threading.Thread:
    """The local stand-in for the clouds' schedules: `run` (the outbox retry) every `interval`."""

    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                run()
            except Exception:  # logged; the next round tries again
                log.exception("outbox retry failed")

    thread = threading.Thread(target=loop, name="outbox-retry", daemon=True)
    thread.start()
    return thread


def fail(message: str) -> NoReturn:
    """A setting the user must fix: one line on stderr naming it, exit code 2, no traceback."""
    print(f"lambda: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def usable_data_dir(settings: Settings) -> Path:
    """DATA_DIR, created if missing, or one line saying why it cannot hold the store (a file,
    under a file, not writable) instead of the traceback of the first write."""
    path = Path(settings.data_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        fail(
            f"DATA_DIR={settings.data_dir} is unusable ({exc.strerror}): set DATA_DIR to a "
            "writable directory"
        )
    return path


READ_TOKEN_FILE = "read-token"


def read_token(settings: Settings) -> Settings:
    """Reading stored events needs a bearer token everywhere, locally too: without
    LAMBDA_READ_TOKEN, the server makes one once and keeps it in DATA_DIR/read-token (0600),
    so `curl -H "Authorization: Bearer $(cat .data/read-token)"` works across restarts."""
    if settings.read_token:
        return settings
    import secrets

    path = Path(settings.data_dir) / READ_TOKEN_FILE
    if not path.exists():
        # Written whole under a temporary name, then linked: server processes starting together
        # (granian's workers) agree on the first token, and none reads a half-written one.
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{READ_TOKEN_FILE}-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:  # a folder, unreadable, not text
        fail(f"{path} is not a readable token file ({exc}): remove it or set {READ_TOKEN}")
    if not token:
        fail(f"{path} is empty: remove it (a new token is made) or set {READ_TOKEN}")
    return settings._replace(read_token=token)


def lean_logging() -> None:
    """This process is ours, and its log lines (`functions.core.logs`) show none of the caller's
    file and line, thread or process: skip collecting them on every record, the optimisations
    the Logging HOWTO lists ("Optimization")."""
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None


def main(argv: list[str] | None = None) -> None:
    """`argv`: the command's arguments (`python -m functions.local` passes them); none when
    called in-process, whatever the calling program's own command line holds."""
    args = arguments(argv or [])
    lean_logging()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        fail(str(exc))
    usable_data_dir(settings)
    if args.reload:  # the settings are checked above: a bad one stops here, not in a loop
        from functions.local.reload import serve_with_reload

        watched = [Path(p) for p in args.watch] or [Path(__file__).resolve().parents[1]]
        raise SystemExit(serve_with_reload([sys.executable, "-m", "functions.local"], watched))
    token = READ_TOKEN if settings.read_token else Path(settings.data_dir) / READ_TOKEN_FILE
    serve(read_token(settings), token)


def arguments(argv: list[str] | None) -> Any:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m functions.local", description=__doc__)
    parser.add_argument(
        "--reload", action="store_true", help="restart when a .py file under functions/ changes"
    )
    parser.add_argument("--watch", action="append", default=[], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def default_workers(cpus: int | None = None) -> int:
    """Two per CPU, at most 8. A process runs Python on one core at a time (its interpreter
    lock) and leaves it while its threads wait for a flush to disk or for the lock itself, so
    with one process per CPU the server used 1.44 of 2 cores: there 3 or 4 processes served
    x1.15-1.21 the webhooks of 2 at 16 clients and x1.03-1.15 at 64, in interleaved runs
    (docs/benchmarks.md; `python -m bench.compare`); each more process costs about 16 MB."""
    cpus = cpus if cpus is not None else os.cpu_count() or 1
    return max(1, min(PER_CPU * cpus, MAX_WORKERS))


def listen(settings: Settings) -> socket.socket:
    """The listening socket on HOST:PORT, or one line saying which setting to change."""
    try:
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port))
        sock.listen(BACKLOG)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {settings.port} on {settings.host} is in use: set PORT to a free one")
        fail(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}): set HOST/PORT")
    return sock


def create(
    settings: Settings,
    sock: socket.socket | None = None,
    retry: bool = True,
    app: App | None = None,
) -> Any:
    """The app (`build_app(settings)` unless given) on the local store, listening on HOST:PORT
    (or on `sock`, shared by the worker processes) and ready to `run()` (waitress's server;
    `close()` stops it). Leftover temp files of a crash are swept first, and the outbox retry
    loop is started when there are peers (and `retry`: one worker runs it)."""
    from waitress import create_server

    from functions.local import framing

    data_dir = Path(settings.data_dir)
    sync_mode(settings)
    data_dir.mkdir(parents=True, exist_ok=True)
    if sock is None:
        FileBlobStore(data_dir).sweep_temp()
        sock = listen(settings)
    app = app or build_app(settings)
    if settings.peer_urls and retry:
        retry_loop(app.jobs.retry, app.log, settings.outbox_retry_interval_s)
    # waitress answers bodies over its own cap with an HTML 413; keep its cap well above ours so
    # that the app's JSON 413 is the one clients see.
    server = create_server(
        wsgi_app(app.handle, settings.max_body_bytes),
        sockets=[sock],
        threads=THREADS,
        max_request_body_size=max(64 * 1024 * 1024, settings.max_body_bytes * 4),
        ident="lambda",
        **framing.adjustments(),
    )
    server.channel_class = framing.JsonErrorChannel
    return server


def serve(settings: Settings, token: str | Path) -> None:
    """Two processes per CPU (LAMBDA_WORKERS), each a waitress server on the one listening
    socket (waitress runs Python on one core per process). Ctrl-C or SIGTERM stops them all;
    a worker that dies stops the rest."""
    data_dir = Path(settings.data_dir)
    mode = sync_mode(settings)
    FileBlobStore(data_dir).sweep_temp()
    sock = listen(settings)
    workers = settings.workers or default_workers()
    print(
        f"LAMBDA serving http://{settings.host}:{sock.getsockname()[1]}  "
        f"data: {data_dir.resolve()}  read token: {token}  "
        f"({workers} process{'es' if workers > 1 else ''} x {THREADS} threads, {mode})",
        flush=True,
    )
    run_workers(workers, lambda first: create(settings, sock, retry=first))


if __name__ == "__main__":
    main(sys.argv[1:])
