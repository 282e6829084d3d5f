"""The local store's durability: each write fsyncs the file, then its folder (a new name is
durable only then), with concurrent writers sharing one folder fsync; a sync that began before
a writer's name existed never answers for it. The fake fsync below blocks until released, so
the ordering is the code's own, not the test's timing."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from functions.core.errors import StorageError
from functions.core.settings import Settings
from functions.local import store as store_module
from functions.local.durable import DirSync
from functions.local.server import read_token
from functions.local.store import TEMP_PREFIX, FileBlobStore


class GatedFsync:
    """Records each directory fsync's start and end; each one waits for `gate`."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()
        self.fail_next = False

    def __call__(self, directory: str) -> None:
        with self.lock:
            self.calls += 1
            fail, self.fail_next = self.fail_next, False
        self.started.set()
        assert self.gate.wait(10), "never released"
        if fail:
            raise OSError(5, "Input/output error")


def test_a_writer_that_arrives_during_a_sync_waits_for_the_next_one() -> None:
    fsync = GatedFsync()
    sync = DirSync(fsync)
    first = threading.Thread(target=sync.sync, args=("/d",))
    first.start()
    assert fsync.started.wait(5)
    # WHEN a second writer arrives while the first sync runs (its name may postdate that sync)
    done = threading.Event()
    second = threading.Thread(target=lambda: (sync.sync("/d"), done.set()))
    second.start()
    fsync.gate.set()
    first.join(5)
    # THEN it is answered only after a sync of its own
    assert done.wait(5)
    assert fsync.calls == 2


def test_writers_waiting_together_share_one_sync() -> None:
    fsync = GatedFsync()
    sync = DirSync(fsync)
    running = threading.Thread(target=sync.sync, args=("/d",))
    running.start()
    assert fsync.started.wait(5)
    # 15 writers arrive while one sync runs: together they need just one more
    waiters = [threading.Thread(target=sync.sync, args=("/d",)) for _ in range(15)]
    for w in waiters:
        w.start()
    fsync.gate.set()
    for w in [running, *waiters]:
        w.join(5)
        assert not w.is_alive()
    assert fsync.calls == 2
    assert sync.syncs == 2


def test_a_failed_sync_raises_to_its_runner_and_the_next_writer_syncs_again() -> None:
    fsync = GatedFsync()
    fsync.fail_next = True
    fsync.gate.set()
    sync = DirSync(fsync)
    with pytest.raises(OSError, match="Input/output"):
        sync.sync("/d")
    sync.sync("/d")
    assert (fsync.calls, sync.syncs) == (2, 1)


def test_every_write_fsyncs_its_file_and_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", fsync)
    folders: list[str] = []
    store = FileBlobStore(tmp_path)
    store._dir_sync = DirSync(folders.append)
    store.put_if_absent("events/a.json", b"{}")
    store.put("outbox/b.json", b"{}")
    assert len(synced) == 2  # each file's data
    # each new folder into its parent, then each new name into its folder
    assert folders == [
        str(tmp_path),
        str(tmp_path / "events"),
        str(tmp_path),
        str(tmp_path / "outbox"),
    ]


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
