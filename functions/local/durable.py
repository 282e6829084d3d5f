"""Directory fsyncs shared by concurrent writers (group commit).

A new name (a link or a rename) survives a power cut only once its directory is fsynced
(POSIX leaves a name's durability to the directory's own fsync). Each writer needs a sync that
*started after* its name was made; concurrent writers to one directory share it: the first to
arrive runs it, the others wait for it, and those that arrive while it runs get the next one.
So 16 writers that finish their links together pay one fsync, not 16, and none is answered
before its own name is on disk.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

MAX_DIRS = 256  # idle directories forgotten past this many (an hour's folders come and go)


class _Directory:
    __slots__ = ("done", "running", "started")

    def __init__(self) -> None:
        self.started = 0  # syncs begun
        self.done = 0  # the newest sync that finished
        self.running = False


class DirSync:
    def __init__(self, fsync: Callable[[str], None] | None = None) -> None:
        self._fsync = fsync or fsync_dir
        self._cond = threading.Condition()
        self._dirs: dict[str, _Directory] = {}
        self.syncs = 0  # fsyncs run, for the bench and tests

    def sync(self, directory: str) -> None:
        """Return once an fsync of `directory` that began after this call has finished."""
        with self._cond:
            state = self._dirs.get(directory)
            if state is None:
                if len(self._dirs) >= MAX_DIRS:
                    self._forget_idle()
                state = self._dirs[directory] = _Directory()
            ticket = state.started + 1  # the running sync (if any) may predate our name
            while state.done < ticket:
                if state.running:
                    self._cond.wait()
                    continue
                state.running = True
                state.started += 1
                mine = state.started
                self._cond.release()
                try:
                    self._fsync(directory)
                finally:
                    self._cond.acquire()
                    state.running = False
                    self._cond.notify_all()
                state.done = mine  # only reached when the fsync succeeded
                self.syncs += 1

    def _forget_idle(self) -> None:
        for name in [n for n, s in self._dirs.items() if not s.running]:
            del self._dirs[name]


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
