"""A busy neighbour on the data folder's disk: another process that keeps writing large files
there (as a download, a build or a backup would), so the page cache always holds some hundreds
of MiB of other programs' data waiting to be written. `syncfs` writes all of it out before it
answers; `fsync` only the file it is given. The bench measures both ways beside it.

    .venv/bin/python -m bench.neighbour FOLDER   (until interrupted)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

CHUNK = 1024 * 1024
FILE_MIB = 256


def write_forever(folder: Path) -> None:
    """Write a FILE_MIB file in 1 MiB chunks, remove it, and again."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "neighbour.bin"
    chunk = b"\0" * CHUNK
    while True:
        with target.open("wb") as out:
            for _ in range(FILE_MIB):
                out.write(chunk)
        target.unlink()


class Neighbour:
    """The writer in a process of its own, started here and stopped by its id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.neighbour", str(folder)],
            cwd=Path(__file__).resolve().parent.parent,
        )

    def stop(self) -> None:
        self._process.send_signal(signal.SIGTERM)
        self._process.wait(30)
        (self.folder / "neighbour.bin").unlink(missing_ok=True)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    write_forever(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
