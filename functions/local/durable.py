"""How the local store makes an acknowledged write survive a power cut, with one flush shared
by every writer waiting for it (group commit): `fsync` per file and folder (the default) or
`syncfs` per batch (`LAMBDA_SYNC`). A failed flush fails every writer it may have carried.
See docs/architecture.md (the local server).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

from functions.core.settings import SYNC_MODES

MAX_KEYS = 256  # idle folders forgotten past this many (an hour's folders come and go)
WHOLE_FS = ""  # GroupSync's one key in syncfs mode


class _Flush:
    """One flush of a key and the writers it answers. Each writer wakes once: those it answers
    on `done`, the writer who runs it (if it waited for the flush before) on `turn`."""

    __slots__ = ("begun", "done", "failed", "turn")

    def __init__(self) -> None:
        self.begun = False  # flush() called: a writer arriving now may postdate it
        self.failed = False
        self.done = threading.Event()
        self.turn = threading.Event()


class _Group:
    __slots__ = ("current", "next")

    def __init__(self) -> None:
        self.current: _Flush | None = None  # under way, or handed over and about to begin
        self.next: _Flush | None = None  # for writers that arrived while `current` ran


class GroupSync:
    """Runs `flush(key)` so that each `sync(key)` returns after a flush of `key` that began
    after the call; writers waiting together share one (the first runs it, the others wait,
    and those arriving meanwhile get the next one, run by the first of them)."""

    def __init__(self, flush: Callable[[str], None]) -> None:
        self._flush = flush
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self.flushes = 0  # flushes that succeeded, for the bench and tests
        self.waiting = 0  # writers parked for a flush to come or to end

    def sync(self, key: str) -> None:
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                if len(self._groups) >= MAX_KEYS:
                    self._forget_idle()
                group = self._groups[key] = _Group()
            current = group.current
            if current is None:  # nothing under way: flush now
                mine = group.current = _Flush()
                mine.begun = True
                lead = True
            elif not current.begun:  # handed over, not yet begun: it will cover this write
                mine, lead = current, False
            elif group.next is None:  # under way, maybe from before this write: run the next
                mine = group.next = _Flush()
                lead = True
            else:
                mine, lead = group.next, False
            if not mine.begun or not lead:
                self.waiting += 1
        if not lead:
            mine.done.wait()
            self._unpark(mine, key)
            return
        if not mine.begun:  # the next flush: wait for the one under way to hand it over
            mine.turn.wait()
            self._unpark(mine, key)
            with self._lock:
                mine.begun = True
        self._run(key, group, mine)

    def _unpark(self, flush: _Flush, key: str) -> None:
        with self._lock:
            self.waiting -= 1
        if flush.failed:
            raise OSError(f"a flush of {key or 'the filesystem'} failed under this write")

    def _run(self, key: str, group: _Group, mine: _Flush) -> None:
        ok = False
        try:
            self._flush(key)
            ok = True
        finally:
            with self._lock:
                following, group.next = group.next, None
                if ok:
                    self.flushes += 1
                    group.current = following  # handed over: its writer runs it
                else:  # it may have carried the next flush's writers' data too: they fail
                    mine.failed = True
                    group.current = None
                    if following is not None:
                        following.failed = True
            if following is not None:  # its runner first: the disk's next flush starts sooner
                following.turn.set()
                if following.failed:
                    following.done.set()
            mine.done.set()

    def _forget_idle(self) -> None:
        for key in [k for k, g in self._groups.items() if g.current is None]:
            del self._groups[key]


class PerFile:
    """`fsync` mode: each file flushed by its writer, each folder shared."""

    name = "fsync"

    def __init__(
        self,
        flush_file: Callable[[int], None] | None = None,
        flush_folder: Callable[[str], None] | None = None,
    ) -> None:
        self._flush_file = flush_file or full_fsync
        self.group = GroupSync(flush_folder or fsync_dir)

    def file(self, fd: int) -> None:
        self._flush_file(fd)

    def names(self, folder: str) -> None:
        self.group.sync(folder)


class WholeFilesystem:
    """`syncfs` mode: one syncfs per batch of writers, whatever their folder, before the link
    (the data) and after it (the name). `fd` is a descriptor on the filesystem, opened before
    the first write and kept: syncfs reports the write-back errors since the previous call on
    it."""

    name = "syncfs"

    def __init__(self, fd: int, flush: Callable[[int], None] | None = None) -> None:
        self._fd = fd
        flush_fs = flush or syncfs
        self.group = GroupSync(lambda _key: flush_fs(self._fd))

    def file(self, fd: int) -> None:
        self.group.sync(WHOLE_FS)

    def names(self, folder: str) -> None:
        self.group.sync(WHOLE_FS)


class Durability(Protocol):
    """What the store calls: `file(fd)` once a file's bytes are written, before it is named;
    `names(folder)` once a name in `folder` is made. Each returns when what it answers for is
    on disk (PerFile, WholeFilesystem)."""

    name: str

    def file(self, fd: int) -> None: ...

    def names(self, folder: str) -> None: ...


def choose(root: str, mode: str = "fsync") -> Durability:
    """The durability for a store under `root` (created if missing, for syncfs): `mode` is one
    of SYNC_MODES; `syncfs` where the system lacks it is a ValueError naming what is missing."""
    if mode not in SYNC_MODES:
        raise ValueError(f"sync mode must be one of {', '.join(SYNC_MODES)}, not {mode!r}")
    if mode == "fsync":
        return PerFile()
    missing = syncfs_missing()
    if missing:
        raise ValueError(f"syncfs is not available here: {missing}")
    os.makedirs(root, exist_ok=True)
    return WholeFilesystem(os.open(root, os.O_RDONLY | os.O_DIRECTORY))


def syncfs_missing(system: str | None = None, release: str | None = None) -> str | None:
    """Why syncfs cannot be relied on here, or None: it must be Linux 5.8 or later (before
    5.8, syncfs returned 0 after a failed write-back)."""
    uname = os.uname() if hasattr(os, "uname") else None
    system = system if system is not None else (uname.sysname if uname else "unknown")
    release = release if release is not None else (uname.release if uname else "")
    if system != "Linux":
        return f"it is a Linux call and this is {system}"
    version = re.match(r"(\d+)\.(\d+)", release)
    if version is None or (int(version[1]), int(version[2])) < (5, 8):
        return f"Linux {release} reports no write-back errors through syncfs (5.8 and later do)"
    return None


@functools.cache
def _libc() -> Any:
    import ctypes  # the local server only; the clouds never come here

    return ctypes.CDLL(None, use_errno=True)  # glibc and musl both export syncfs


def syncfs(fd: int) -> None:
    import ctypes

    if _libc().syncfs(ctypes.c_int(fd)) != 0:  # ctypes lets go of the GIL meanwhile
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def full_fsync(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        os.fsync(fd)
        return
    if hasattr(fcntl, "F_FULLFSYNC"):  # macOS: fsync alone stops at the drive's cache
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    else:
        os.fsync(fd)


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        full_fsync(fd)
    finally:
        os.close(fd)
