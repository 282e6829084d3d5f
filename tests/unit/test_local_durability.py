"""The local store's durability. A write returns only after a flush that began after its data
and name existed: a syncfs of the filesystem (Linux 5.8+), or the file's fsync and then its
folder's. Concurrent writers share one flush, a flush that began before a writer's data never
answers for it, and a failed flush fails every writer it might have carried. The fake flushes
below block until released, so the ordering is the code's own, not the test's timing."""

from __future__ import annotations

import errno
import itertools
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from functions.core.errors import StorageError
from functions.core.settings import Settings
from functions.local import store as store_module
from functions.local.durable import (
    GroupSync,
    PerFile,
    WholeFilesystem,
    choose,
    syncfs,
    syncfs_missing,
)
from functions.local.server import read_token
from functions.local.store import TEMP_PREFIX, FileBlobStore


class GatedFlush:
    """Records each flush's start; each one waits for `gate` (or `fail`s)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls: list[object] = []
        self.lock = threading.Lock()
        self.fail_next = False

    def __call__(self, target: object) -> None:
        with self.lock:
            self.calls.append(target)
            fail, self.fail_next = self.fail_next, False
        self.started.set()
        assert self.gate.wait(10), "never released"
        if fail:
            raise OSError(errno.EIO, "Input/output error")


Outcome = list[BaseException | None]


def start(target: Callable[..., object], *args: object) -> tuple[threading.Thread, Outcome]:
    """`target(*args)` on a thread; the list gets None, or what it raised."""
    outcome: Outcome = []

    def run() -> None:
        try:
            target(*args)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until_waiting(sync: GroupSync, waiters: int) -> None:
    """Until `waiters` threads are parked for a flush (the flush is gated, so
    nothing else can wake them)."""
    for _ in range(1000):
        with sync._lock:
            if sync.waiting >= waiters:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{waiters} waiters never parked")


def held_with_waiters(
    sync: GroupSync, flush: GatedFlush, waiters: int
) -> tuple[threading.Thread, Outcome, list[tuple[threading.Thread, Outcome]]]:
    """A writer whose flush is held at the gate, and `waiters` more writers that arrived while
    it ran, parked behind it."""
    runner, ran = start(sync.sync, "/d")
    assert flush.started.wait(5)
    parked = [start(sync.sync, "/d") for _ in range(waiters)]
    wait_until_waiting(sync, waiters)
    return runner, ran, parked


def release(flush: GatedFlush, threads: list[threading.Thread]) -> None:
    flush.gate.set()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()


def test_a_writer_that_arrives_during_a_flush_waits_for_the_next_one() -> None:
    flush = GatedFlush()
    sync = GroupSync(flush)
    # WHEN a second writer arrives while the first flush runs (its data may postdate it)
    first, _, [(second, outcome)] = held_with_waiters(sync, flush, 1)
    assert outcome == []
    release(flush, [first, second])
    # THEN it is answered only after a flush of its own
    assert outcome == [None]
    assert len(flush.calls) == 2


def test_writers_waiting_together_share_one_flush() -> None:
    flush = GatedFlush()
    sync = GroupSync(flush)
    # 15 writers arrive while one flush runs: together they need just one more
    running, _, waiters = held_with_waiters(sync, flush, 15)
    release(flush, [running, *(thread for thread, _ in waiters)])
    assert all(outcome == [None] for _, outcome in waiters)
    assert len(flush.calls) == 2
    assert sync.flushes == 2


def test_under_any_interleaving_each_writer_returns_after_a_flush_that_began_after_its_call() -> (
    None
):
    # One clock for everything: each arrival, return, flush start and flush end takes a tick.
    clock = itertools.count()
    lock = threading.Lock()
    flushes: list[tuple[int, int]] = []
    calls: list[tuple[int, int]] = []
    jitter = random.Random(13)

    def tick() -> int:
        with lock:
            return next(clock)

    def flush(_key: str) -> None:
        began = tick()
        time.sleep(jitter.random() / 2000)  # up to 0.5 ms: writers pile up behind it
        flushes.append((began, tick()))

    sync = GroupSync(flush)

    def writer() -> None:
        for _ in range(150):
            arrived = tick()
            sync.sync("/d")
            calls.append((arrived, tick()))

    with ThreadPoolExecutor(12) as pool:
        for done in [pool.submit(writer) for _ in range(12)]:
            done.result()
    assert len(calls) == 12 * 150
    for arrived, returned in calls:
        assert any(arrived < began and ended < returned for began, ended in flushes)
    assert len(flushes) < len(calls) / 2  # and they did share flushes


def test_a_failed_flush_fails_every_writer_it_may_have_carried_and_the_next_one_flushes_anew() -> (
    None
):
    flush = GatedFlush()
    flush.fail_next = True
    sync = GroupSync(flush)
    # writers that arrive while the failing flush runs: it may have written (and lost) their
    # data, and the kernel reports a write-back error once, so no later flush may answer them
    runner, ran, waiters = held_with_waiters(sync, flush, 3)
    release(flush, [runner, *(thread for thread, _ in waiters)])
    assert isinstance(ran[0], OSError)
    assert ran[0].errno == errno.EIO
    for _, outcome in waiters:
        assert isinstance(outcome[0], OSError)
        assert "failed under this write" in str(outcome[0])
    assert len(flush.calls) == 1  # none of them flushed again for itself
    # a writer that comes after the failure gets a flush of its own, and it succeeds
    sync.sync("/d")
    assert (len(flush.calls), sync.flushes) == (2, 1)


def test_fsync_mode_flushes_each_file_then_each_new_name_into_its_folder(tmp_path: Path) -> None:
    files: list[int] = []
    folders: list[str] = []
    store = FileBlobStore(tmp_path, PerFile(files.append, folders.append))
    store.put_if_absent("events/a.json", b"{}")
    store.put("outbox/b.json", b"{}")
    assert len(files) == 2  # each file's data
    # each new folder into its parent, then each new name into its folder
    assert folders == [
        str(tmp_path),
        str(tmp_path / "events"),
        str(tmp_path),
        str(tmp_path / "outbox"),
    ]


def test_syncfs_mode_answers_writes_in_any_folder_with_one_flush_of_the_filesystem(
    tmp_path: Path,
) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        flush = GatedFlush()
        store = FileBlobStore(tmp_path, WholeFilesystem(fd, flush))
        store._dirs.update({str(tmp_path / "events"), str(tmp_path / "outbox")})
        (tmp_path / "events").mkdir()
        (tmp_path / "outbox").mkdir()
        first, _ = start(store.put_if_absent, "events/a.json", b"1")
        assert flush.started.wait(5)
        # two writers in two other folders arrive while that flush runs
        later = [
            start(store.put_if_absent, "events/b.json", b"2"),
            start(store.put, "outbox/c.json", b"3"),
        ]
        wait_until_waiting(store.durability.group, 2)
        assert all(outcome == [] for _, outcome in later)  # not answered before a flush
        flush.gate.set()
        for thread, _ in [(first, None), *later]:
            thread.join(5)
        assert all(outcome == [None] for _, outcome in later)
        # each write waits for two flushes (data, then name), shared: never six
        assert len(flush.calls) < 6
        assert set(flush.calls) == {fd}  # always the kept descriptor
        assert sorted(os.listdir(tmp_path / "events")) == ["a.json", "b.json"]
    finally:
        os.close(fd)


def test_syncfs_mode_puts_the_data_on_disk_before_a_name_points_at_it(tmp_path: Path) -> None:
    target = tmp_path / "events" / "a.json"
    named_at_flush: list[bool] = []
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        store = FileBlobStore(
            tmp_path, WholeFilesystem(fd, lambda _: named_at_flush.append(target.exists()))
        )
        (tmp_path / "events").mkdir()
        store._dirs.add(str(tmp_path / "events"))
        assert store.put_if_absent("events/a.json", b"1")
    finally:
        os.close(fd)
    # a flush while the file had no name (its data), then one after the link (its name)
    assert named_at_flush == [False, True]


def test_syncfs_is_taken_only_where_linux_reports_its_errors(tmp_path: Path) -> None:
    assert syncfs_missing("Linux", "6.18.44-fc-v657") is None
    assert syncfs_missing("Linux", "5.8.0") is None
    assert "5.8 and later" in str(syncfs_missing("Linux", "5.4.0-150-generic"))
    assert "this is Darwin" in str(syncfs_missing("Darwin", "23.1.0"))
    assert choose(str(tmp_path / "data")).name == "fsync"  # the default, everywhere
    assert not (tmp_path / "data").exists()  # fsync opens nothing ahead
    with pytest.raises(ValueError, match="one of fsync, syncfs"):
        choose(str(tmp_path), "never")
    # this machine, for real
    if syncfs_missing() is None:
        assert choose(str(tmp_path / "data"), "syncfs").name == "syncfs"
    else:
        with pytest.raises(ValueError, match="syncfs is not available here"):
            choose(str(tmp_path / "data"), "syncfs")


@pytest.mark.skipif(syncfs_missing() is not None, reason="syncfs needs Linux 5.8+")
def test_the_real_syncfs_flushes_and_reports_the_kernels_error(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path, "syncfs")
    assert store.put_if_absent("events/a.json", b"1")
    durability = store.durability
    assert isinstance(durability, WholeFilesystem)
    assert durability.group.flushes >= 1
    with pytest.raises(OSError, match="Bad file descriptor") as raised:
        syncfs(-1)
    assert raised.value.errno == errno.EBADF


def test_a_store_that_is_only_read_opens_nothing(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "none", "syncfs")
    assert list(store.list("events/")) == []
    assert store._durability is None
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("tmpfile", [True, False], ids=["unnamed-temp-file", "named-temp-file"])
def test_writes_leave_no_temporary_file_behind(tmp_path: Path, tmpfile: bool) -> None:
    store = FileBlobStore(tmp_path)
    store._tmpfile = tmpfile and bool(store_module.O_TMPFILE)
    assert store.put_if_absent("events/a.json", b"1")
    assert not store.put_if_absent("events/a.json", b"2")
    store.put("events/b.json", b"3")
    assert sorted(os.listdir(tmp_path / "events")) == ["a.json", "b.json"]
    assert store.get("events/a.json") == b"1"
    assert not any(name.startswith(TEMP_PREFIX) for name in os.listdir(tmp_path / "events"))


def test_a_folder_removed_under_the_store_is_an_error_once_and_then_made_again(
    tmp_path: Path,
) -> None:
    store = FileBlobStore(tmp_path)
    store.put("events/a.json", b"1")
    for name in os.listdir(tmp_path / "events"):
        os.unlink(tmp_path / "events" / name)
    os.rmdir(tmp_path / "events")
    with pytest.raises(StorageError, match=r"events/b\.json"):
        store.put_if_absent("events/b.json", b"2")
    assert store.put_if_absent("events/b.json", b"2")
    assert store.get("events/b.json") == b"2"
    assert store._tmpfile == bool(store_module.O_TMPFILE)  # a missing folder is no reason to
    # give unnamed files up


def test_server_processes_starting_together_agree_on_one_read_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: read_token(settings).read_token, range(8)))
    assert len(tokens) == 1
    assert os.listdir(tmp_path / "data") == ["read-token"]


FULL_DISK_CHILD = """
import os, resource, signal, sys
from pathlib import Path
from functions.core.errors import StorageError
from functions.local.store import FileBlobStore

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit is then EFBIG
root = Path(sys.argv[1])
store = FileBlobStore(root)
store.put("events/small.json", b"{}")
store._tmpfile = False  # named temp files: the kind a failed write could leave behind
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
failed = 0
for write in (store.put, store.put_if_absent):
    try:
        write("events/big.json", b"x" * 65536)
    except StorageError:
        failed += 1
print(failed, sorted(os.listdir(root / "events")))
"""


def test_a_write_the_disk_refuses_leaves_no_temporary_file(tmp_path: Path) -> None:
    # GIVEN a process whose files may not grow past 4 KiB (the kernel's own EFBIG, as a full
    # disk's ENOSPC, part-way through the write)
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # THEN both writes failed, and each removed its half-written temporary file at once
    assert done.stdout.split(None, 1) == ["2", "['small.json']\n"]


@pytest.mark.parametrize("tmpfile", [True, False], ids=["unnamed-temp-file", "named-temp-file"])
def test_a_failed_flush_leaves_no_temporary_file(tmp_path: Path, tmpfile: bool) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    store = FileBlobStore(tmp_path, PerFile(no_space, lambda folder: None))
    store._tmpfile = tmpfile and bool(store_module.O_TMPFILE)
    for write in (store.put, store.put_if_absent):
        with pytest.raises(StorageError, match="No space left"):
            write("events/a.json", b"{}")
    assert os.listdir(tmp_path / "events") == []
