"""Where a partition's raw events, compacted Parquet and manifest live, and the hour index that
tells the compactor which (source, hour) partitions exist without listing every event."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.core.errors import BlobNotFound
from functions.core.events import EVENTS_PREFIX, partition_prefix
from functions.core.ports import BlobStore

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


@dataclass(frozen=True)
class Manifest:
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
        return cls(raw["file"], raw["digest"], frozenset(raw["ids"]))


def load_manifest(store: BlobStore, source: str, hour: datetime) -> Manifest | None:
    for key in (manifest_key(source, hour), compacted_prefix(source, hour) + LEGACY_MANIFEST):
        try:
            return Manifest.decode(store.get(key))
        except BlobNotFound:
            continue
    return None


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
