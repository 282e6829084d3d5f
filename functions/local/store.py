"""A filesystem `BlobStore`: atomic writes, atomic create-if-absent, durable names."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from functions.core.errors import BlobNotFound, StorageError
from functions.local.durable import Durability, choose

TEMP_PREFIX = ".tmp-"
# An unnamed file in the target folder (Linux 3.11+, on ext4, xfs, btrfs, tmpfs): no name to
# create, sweep or unlink, and gone by itself if the process dies mid-write.
O_TMPFILE = getattr(os, "O_TMPFILE", 0)
NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}  # what open() says when it has none


class FileBlobStore:
    """Objects are files under `root`; a key's '/' separators are directories.

    A write goes to a file no reader can see (an unnamed `O_TMPFILE`, or a `.tmp-` name where
    the filesystem has none) and is then linked (put_if_absent: `link` failing on an existing
    name is the atomic precondition) or renamed (put) into place. The call returns once file
    and name are on disk, by one flush shared with the writers waiting alongside (`durable`:
    a syncfs of the whole filesystem, or the file's fsync and then its folder's). So a crash
    never leaves a half-written object, and a write that returned survives a power cut, name
    included.
    """

    def __init__(self, root: Path, sync: str | Durability = "fsync") -> None:
        self.root = Path(root).resolve()
        self.name = str(self.root)
        self._dirs: set[str] = set()  # folders known to exist (and to be durable)
        self._dirs_lock = threading.Lock()
        self._sync = sync
        self._durability = sync if not isinstance(sync, str) else None
        self._tmpfile = bool(O_TMPFILE)

    @property
    def durability(self) -> Durability:
        """Chosen at the first write, not before: syncfs mode opens a descriptor on the
        filesystem, which must predate the data it answers for (and a store that is only read
        keeps none)."""
        if self._durability is None:
            with self._dirs_lock:
                if self._durability is None:
                    assert isinstance(self._sync, str)
                    self._durability = choose(self.name, self._sync)
        return self._durability

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid object key {key!r}")
        return self.root.joinpath(*parts)

    def _folder(self, folder: Path) -> str:
        """`folder`, created (each new level fsynced into its parent) unless known to exist."""
        name = str(folder)
        if name in self._dirs:
            return name
        missing = []
        level = folder
        while not level.is_dir():
            missing.append(level)
            level = level.parent
        for new in reversed(missing):
            try:
                new.mkdir()
            except FileExistsError:
                continue
            self.durability.names(str(new.parent))
        with self._dirs_lock:
            self._dirs.add(name)
        return name

    def _forget(self, folder: str) -> None:
        with self._dirs_lock:
            self._dirs.discard(folder)

    def _write_fd(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        self.durability.file(fd)

    def _write_temp(self, folder: str, data: bytes) -> str:
        """A named temporary file holding `data`; removed at once if the write fails (a full
        disk must not fill up further with the halves of failed writes until the next start)."""
        temp = os.path.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            self._write_fd(fd, data)
        except BaseException:
            os.close(fd)
            _unlink(temp)
            raise
        os.close(fd)
        return temp

    def _create(self, path: Path, data: bytes) -> bool:
        folder = self._folder(path.parent)
        if self._tmpfile:
            try:
                fd = os.open(folder, O_TMPFILE | os.O_WRONLY, 0o644)
            except OSError as exc:
                if exc.errno not in NO_TMPFILE:
                    raise
                self._tmpfile = False  # this filesystem has no unnamed files: named ones then
            else:
                try:
                    self._write_fd(fd, data)
                    # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd names the open file itself (a
                    # dir fd makes Python call linkat, not link; an absolute path ignores it).
                    os.link(f"/proc/self/fd/{fd}", path, src_dir_fd=fd, follow_symlinks=True)
                    return True
                except FileExistsError:
                    return False
                finally:
                    os.close(fd)
        temp = self._write_temp(folder, data)
        try:
            os.link(temp, path)
            return True
        except FileExistsError:
            return False
        finally:
            _unlink(temp)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            folder = self._folder(path.parent)
            temp = self._write_temp(folder, data)
            try:
                os.replace(temp, path)
            except BaseException:
                _unlink(temp)
                raise
            self.durability.names(folder)
        except FileNotFoundError as exc:  # the folder went away under us
            self._forget(str(path.parent))
            raise StorageError(f"cannot write {key} under {self.name}: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"cannot write {key} under {self.name}: {exc}") from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        try:
            created = self._create(path, data)
            # A name that already existed may still be in flight to disk (another writer's
            # link, not yet flushed): either way the caller's answer waits for the flush.
            self.durability.names(str(path.parent))
            return created
        except FileNotFoundError as exc:
            self._forget(str(path.parent))
            raise StorageError(f"cannot write {key} under {self.name}: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"cannot write {key} under {self.name}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key} under {self.name}: {exc}") from exc

    def list(self, prefix: str) -> Iterator[str]:
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*base.split("/")) if base else self.root
        keys: list[str] = []
        for folder, _dirs, files in os.walk(start):
            rel = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if not name.startswith(TEMP_PREFIX) and key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key} under {self.name}: {exc}") from exc

    def sweep_temp(self, older_than_s: float = 60.0) -> int:
        """Remove the temporary files a crash left mid-write (never visible as objects, but
        they hold disk). Only files older than `older_than_s`: another process writing to the
        same folder right now (`make compact`) keeps its own."""
        import time

        cutoff, removed = time.time() - older_than_s, 0
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(folder) / name
                try:
                    if name.startswith(TEMP_PREFIX) and path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
