"""A filesystem `BlobStore`: atomic writes, atomic create-if-absent."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from functions.core.errors import BlobNotFound, StorageError

TEMP_PREFIX = ".tmp-"


class FileBlobStore:
    """Objects are files under `root`; a key's '/' separators are directories.

    A write goes to a temporary file that is fsynced and then renamed (put) or hard-linked
    (put_if_absent) into place, so a crash never leaves a half-written object, and `os.link`
    failing on an existing name is the atomic precondition.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.name = str(self.root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid object key {key!r}")
        return self.root.joinpath(*parts)

    def _write_temp(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return temp

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            os.replace(self._write_temp(path, data), path)
        except OSError as exc:
            raise StorageError(f"cannot write {key} under {self.name}: {exc}") from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        try:
            temp = self._write_temp(path, data)
            try:
                os.link(temp, path)
                return True
            except FileExistsError:
                return False
            finally:
                temp.unlink(missing_ok=True)
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
