"""CPU per webhook in the app alone: `App.handle` on `POST /webhook/bench` (wrk's body) in one
thread of a fresh interpreter set up as `make serve` sets up its workers, with no HTTP server and
the local store in a RAM-backed folder, where fsync writes nothing. The figure follows our code,
not the disk or the machine's neighbours; beside the server's CPU per webhook under load it
shows what waitress, the kernel and the disk add.

    .venv/bin/python -m bench.appcpu [--events 5000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RAM = Path("/dev/shm")
ROUNDS = 5


def ram() -> Path | None:
    """A RAM-backed folder (where fsync writes nothing), or None where there is none."""
    return RAM if RAM.is_dir() and os.access(RAM, os.W_OK) else None


def ram_folder() -> tuple[Path, str]:
    """`ram()` and its label; the temp dir without."""
    folder = ram()
    if folder is not None:
        return folder, "RAM (/dev/shm)"
    return Path(tempfile.gettempdir()), "disk (no /dev/shm here)"


def run(events: int) -> dict[str, Any]:
    """The best of ROUNDS rounds of `events` webhooks each, in µs of CPU per webhook."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.appcpu", "--events", str(events)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return dict(json.loads(out.stdout))


def _measure(events: int) -> dict[str, Any]:
    from functions.core.http import Request
    from functions.core.settings import Settings
    from functions.local.server import build_app, lean_logging

    lean_logging()
    parent, where = ram_folder()
    with tempfile.TemporaryDirectory(dir=parent, prefix="lambda-appcpu-") as data:
        app = build_app(Settings(data_dir=data))
        headers = {"content-type": "application/json"}

        def webhook(n: int) -> None:
            body = b'{"n": %d, "bench": true}' % n
            response = app.handle(Request("POST", "/webhook/bench", headers, {}, body))
            assert response.status == 201, response.body

        for n in range(events // 10):  # warm: imports, the hour's folder and index marker
            webhook(n)
        rounds = []
        for _ in range(ROUNDS):
            started = time.process_time()
            for n in range(events):
                webhook(n)
            rounds.append((time.process_time() - started) / events * 1e6)
    return {
        "us_per_webhook": round(min(rounds), 1),
        "max_us": round(max(rounds), 1),
        "events": events,
        "rounds": ROUNDS,
        "store": where,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        measured = _measure(args.events)  # the app's request log lines, one per webhook: away
    print(json.dumps(measured))


if __name__ == "__main__":
    main()
