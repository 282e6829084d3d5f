"""The local app exactly as `make serve` runs it (same server, processes, threads, logging,
settings from the environment) except that the store flushes nothing: a 201 here does NOT
survive a power cut. The bench runs it with DATA_DIR in RAM (/dev/shm), beside the real
server, to show how much of a latency or throughput target the disk decides and how much the
server and the machine do: no way of flushing can beat that row. (On a disk, flushing nothing
is no bound: dirty pages pile up until the kernel throttles the writers.) It is not a
setting: only the bench starts it.

    .venv/bin/python -m bench.noflush   (PORT, DATA_DIR, ... from the environment)
"""

from __future__ import annotations

from pathlib import Path

from functions.core.app import App
from functions.core.services import Services
from functions.core.settings import Settings
from functions.local.server import (
    create,
    default_workers,
    lean_logging,
    listen,
    read_token,
)
from functions.local.store import FileBlobStore
from functions.local.workers import run_workers


class NoFlush:
    """A `Durability` that returns at once: every file and name stays in the page cache."""

    name = "none (bench only, not durable)"

    def file(self, fd: int) -> None:
        return None

    def names(self, folder: str) -> None:
        return None


def build(settings: Settings) -> App:
    return App(
        Services(settings, "local", lambda: FileBlobStore(Path(settings.data_dir), NoFlush()))
    )


def main() -> None:
    lean_logging()
    settings = read_token(Settings.from_env())
    sock = listen(settings)
    run_workers(
        settings.workers or default_workers(),
        lambda first: create(settings, sock, retry=first, app=build(settings)),
    )


if __name__ == "__main__":
    main()
