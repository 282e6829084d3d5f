"""A no-op WSGI app on the same server the local app uses (waitress, same processes and
threads): what the load generator and the server reach with no app work at all, the ceiling
printed beside every ingest figure.

    .venv/bin/python -m bench.noop PORT
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from functions.local.server import THREADS

BODY = b'{"ok":true}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response(
        "201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


def main() -> None:
    from waitress import create_server

    from functions.core.settings import Settings
    from functions.local.server import default_workers, listen
    from functions.local.workers import run_workers

    sock = listen(Settings(port=int(sys.argv[1])))
    run_workers(
        default_workers(),
        lambda first: create_server(app, sockets=[sock], threads=THREADS, ident="noop"),
    )


if __name__ == "__main__":
    main()
