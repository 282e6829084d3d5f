"""`python -m functions.local`: the app on the local filesystem, served by waitress."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from functions.core.app import App
from functions.core.errors import ConfigError
from functions.core.settings import Settings
from functions.core.wsgi import wsgi_app
from functions.local.store import FileBlobStore

THREADS = 32


def build_app(settings: Settings) -> App:
    return App(settings, "local", lambda: FileBlobStore(Path(settings.data_dir)))


def retry_loop(app: App, interval: float) -> threading.Thread:
    """The local stand-in for the clouds' schedules: retry the outbox every `interval`."""

    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                app.retry_outbox()
            except Exception:  # logged; the next round tries again
                app.log.exception("outbox retry failed")

    thread = threading.Thread(target=loop, name="outbox-retry", daemon=True)
    thread.start()
    return thread


def fail(message: str) -> NoReturn:
    """A setting the user must fix: one line on stderr naming it, exit code 2, no traceback."""
    print(f"lambda: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


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
    return settings._replace(read_token=path.read_text().strip())


def main() -> None:
    try:
        settings = read_token(Settings.from_env())
    except ConfigError as exc:
        fail(str(exc))
    serve(settings)


def create(settings: Settings) -> Any:
    """The app on the local store, listening on HOST:PORT and ready to `run()` (waitress's
    server; `close()` stops it). Leftover temp files of a crash are swept first, and the outbox
    retry loop is started when there are peers."""
    from waitress import create_server

    from functions.local import framing

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    FileBlobStore(data_dir).sweep_temp()
    app = build_app(settings)
    if settings.peer_urls:
        retry_loop(app, settings.outbox_retry_interval_s)
    try:
        # waitress answers bodies over its own cap with an HTML 413; keep its cap well above
        # ours so that the app's JSON 413 is the one clients see.
        server = create_server(
            wsgi_app(app.handle, settings.max_body_bytes),
            host=settings.host,
            port=settings.port,
            threads=THREADS,
            max_request_body_size=max(64 * 1024 * 1024, settings.max_body_bytes * 4),
            ident="lambda",
            **framing.adjustments(),
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {settings.port} on {settings.host} is in use: set PORT to a free one")
        fail(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}): set HOST/PORT")
    server.channel_class = framing.JsonErrorChannel
    return server


def serve(settings: Settings) -> None:
    server = create(settings)
    data_dir = Path(settings.data_dir)
    token = (
        "LAMBDA_READ_TOKEN" if os.environ.get("LAMBDA_READ_TOKEN") else (data_dir / READ_TOKEN_FILE)
    )
    print(
        f"LAMBDA serving http://{settings.host}:{server.effective_port}  "
        f"data: {data_dir.resolve()}  read token: {token}",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
