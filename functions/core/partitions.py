"""Where a partition's raw events, compacted Parquet and manifest live, and the hour index that
tells the compactor which (source, hour) partitions exist without listing every event."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any, NamedTuple

from functions.core.errors import BlobNotFound
from functions.core.events import EVENTS_PREFIX, partition_prefix
from functions.core.ports import BlobStore
from functions.core.quarantine import DAMAGE, decode_or_set_aside, set_aside

COMPACTED_PREFIX = "compacted/"
INDEX_PREFIX = "index/"
LATE_PREFIX = "late/"


def compacted_prefix(source: str, hour: datetime) -> str:
    return COMPACTED_PREFIX + partition_prefix(source, hour)[len(EVENTS_PREFIX) :]


# Athena (Hive), BigQuery and Spark skip files whose names begin with `_` or `.` when they list
# a table's data files: the manifest must not be read as Parquet. Hours compacted before this
# name kept `manifest.json`, which is still read (and replaced at their next compaction).
MANIFEST = "_manifest.json"
LEGACY_MANIFEST = "manifest.json"


def manifest_key(source: str, hour: datetime) -> str:
    return compacted_prefix(source, hour) + MANIFEST


def parquet_key(source: str, hour: datetime, digest: str) -> str:
    return compacted_prefix(source, hour) + f"part-{digest}.parquet"


def late_prefix(source: str, hour: datetime) -> str:
    return LATE_PREFIX + partition_prefix(source, hour)[len(EVENTS_PREFIX) :]


def late_key(source: str, hour: datetime, event_id: str) -> str:
    """Marks an event written into an hour that had already ended: a compacted hour's query
    lists these few markers instead of every raw event of the hour."""
    return late_prefix(source, hour) + event_id


class Manifest(NamedTuple):
    """A compacted hour's Parquet file, its digest and the ids it holds (a NamedTuple: a
    frozen dataclass costs ~4M instructions of every cold start's import)."""

    file: str
    digest: str
    ids: frozenset[str]

    def encode(self) -> bytes:
        return json.dumps(
            {
                "file": self.file,
                "digest": self.digest,
                "count": len(self.ids),
                "ids": sorted(self.ids),
            }
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        raw: dict[str, Any] = json.loads(data)
        file, digest, ids = raw["file"], raw["digest"], raw["ids"]
        if not (isinstance(file, str) and isinstance(digest, str) and isinstance(ids, list)):
            raise TypeError("a manifest's file and digest are text and its ids a list")
        if not all(isinstance(i, str) for i in ids):
            raise TypeError("a manifest's ids are text")
        return cls(file, digest, frozenset(ids))


def load_manifest(store: BlobStore, source: str, hour: datetime) -> Manifest | None:
    """The hour's manifest, or None: none written yet, or a damaged one, which is set aside
    (docs/architecture.md, "Damaged objects") so that the hour is read from its raw events and
    compacted again."""
    prefix = compacted_prefix(source, hour)
    for key in (manifest_key(source, hour), prefix + LEGACY_MANIFEST):
        try:
            data = store.get(key)
        except BlobNotFound:
            continue
        manifest = decode_or_set_aside(store, key, data, Manifest.decode)
        if manifest is not None and not manifest.file.startswith(prefix):
            set_aside(store, key, f"names a file outside its hour: {manifest.file[:200]}")
            manifest = None
        return manifest
    return None


def forget_file(store: BlobStore, file: str, why: str, file_damaged: bool) -> None:
    """The manifest that names the compacted `file`, when it still does: removed when the file
    is damaged (the manifest is right, but useless), set aside when the file is gone (the
    manifest is what is wrong). Either way the hour is read raw until compacted again. One
    that names another file now was replaced by the compactor: it stays."""
    folder = file.rsplit("/", 1)[0] + "/"
    for key in (folder + MANIFEST, folder + LEGACY_MANIFEST):
        try:
            named = Manifest.decode(store.get(key)).file
        except BlobNotFound:
            continue
        except DAMAGE:
            named = None
        if named == file and file_damaged:
            store.delete(key)
        elif named == file:
            set_aside(store, key, why)


def index_prefix(hour: datetime) -> str:
    return f"{INDEX_PREFIX}hour={hour.year:04d}-{hour.month:02d}-{hour.day:02d}T{hour.hour:02d}/"


def index_key(source: str, hour: datetime) -> str:
    return f"{index_prefix(hour)}source={source}"


class HourIndex:
    """Marks each (source, hour) that received an event: one conditional put per partition per
    warm instance, remembered in memory so the hot path pays it once."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def mark(self, source: str, moment: datetime) -> None:
        key = index_key(source, moment)
        with self._lock:
            if key in self._seen:
                return
        self._store.put_if_absent(key, b"")
        with self._lock:
            self._seen.add(key)

    def sources(self, hour: datetime) -> list[str]:
        prefix = index_prefix(hour)
        return [key[len(prefix) + len("source=") :] for key in self._store.list(prefix)]
