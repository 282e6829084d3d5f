"""Compaction: each closed (source, hour) rolled into one Parquet file with a manifest of the
ids it holds; raw events stay, so late events are still found. Idempotent and crash-safe (the
file named by a digest of its ids, the manifest written last). See docs/query.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime, timedelta
from typing import Any

from functions.core.events import partition_prefix
from functions.core.logs import LOGGER_NAME
from functions.core.partitions import (
    HourIndex,
    Manifest,
    compacted_prefix,
    load_manifest,
    manifest_key,
    parquet_key,
)
from functions.core.ports import BlobStore, Clock
from functions.core.quarantine import set_aside
from functions.core.query import COLUMNS, fetch_all, whole_events, write_ndjson

CLOSE_GRACE = timedelta(minutes=5)  # an hour is closed this long after it ends

# The one schema of every compacted file, whatever its events hold (never typed from the first
# file's values): names and types are what Athena's Glue table and BigQuery's external table
# declare (stacks/query_tables.py). `received_at` is a Parquet timestamp in UTC (microseconds,
# isAdjustedToUTC); headers and payload stay whole, as JSON text. `source` and the time parts
# are not in the file: the hive path (`source=…/year=…/…/hour=…`) carries them, and an engine
# that finds a partition key among a file's columns refuses the table.
PARQUET_SCHEMA = {
    "id": "VARCHAR",
    "received_at": "TIMESTAMP WITH TIME ZONE",
    "origin": "VARCHAR",
    "idempotency_key": "VARCHAR",
    "headers": "VARCHAR",
    "payload": "VARCHAR",
}
FORMAT = "parquet-2"
PARQUET_SELECT = ", ".join(
    f"CAST({name} AS {kind}) AS {name}" for name, kind in PARQUET_SCHEMA.items()
)
LOOKBACK_HOURS = 48
log = logging.getLogger(LOGGER_NAME)


def event_id(key: str) -> str:
    return key.rsplit("/", 1)[-1].removesuffix(".json")


def write_parquet(ndjson: str, out: str, memory_mb: int | None = None) -> None:
    from functions.core import duck

    columns = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in COLUMNS) + "}"
    with duck.connect(memory_mb) as con:
        con.execute(
            f"COPY (SELECT {PARQUET_SELECT} FROM read_json(?, format = 'newline_delimited', "
            f"columns = {columns}) ORDER BY received_at, id) TO '{out}' "
            "(FORMAT parquet, COMPRESSION zstd)",
            [ndjson],
        )


class Compactor:
    def __init__(self, store: BlobStore, clock: Clock, memory_mb: int | None = None) -> None:
        self._memory_mb = memory_mb
        self._store = store
        self._clock = clock

    def compact_hour(self, source: str, hour: datetime) -> dict[str, Any]:
        hour = hour.replace(minute=0, second=0, microsecond=0)
        keys = [k for k in self._store.list(partition_prefix(source, hour)) if k.endswith(".json")]
        current = load_manifest(self._store, source, hour)  # a damaged one is set aside: None
        result = {"source": source, "hour": f"{hour:%Y-%m-%dT%H}", "events": len(keys)}
        if not keys or self._unchanged(current, source, hour, [event_id(k) for k in keys]):
            self._remove_orphans(source, hour, current)
            return {**result, "compacted": False}
        events = self._whole(keys)  # damaged events set aside, the others compacted
        ids = [event_id(k) for k, _ in events]
        if not ids or self._unchanged(current, source, hour, ids):
            self._remove_orphans(source, hour, current)
            return {**result, "events": len(ids), "compacted": False}
        digest = _digest(ids)
        with tempfile.TemporaryDirectory(prefix="lambda-compact-") as tmp:
            ndjson, parquet = os.path.join(tmp, "in.ndjson"), os.path.join(tmp, "out.parquet")
            write_ndjson(ndjson, [body for _key, body in events])
            write_parquet(ndjson, parquet, self._memory_mb)
            key = parquet_key(source, hour, digest)
            with open(parquet, "rb") as data:
                self._store.put(key, data.read())
        manifest = Manifest(key, digest, frozenset(ids))
        self._store.put(manifest_key(source, hour), manifest.encode())  # last: the commit
        self._remove_orphans(source, hour, manifest)
        return {**result, "events": len(ids), "compacted": True}

    def _unchanged(
        self, current: Manifest | None, source: str, hour: datetime, ids: list[str]
    ) -> bool:
        """The hour's manifest holds these ids and its file is there (one that went away is
        rebuilt from the raw events)."""
        return (
            current is not None
            and current.digest == _digest(ids)
            and current.file in self._store.list(compacted_prefix(source, hour))
        )

    def _whole(self, keys: list[str]) -> list[tuple[str, bytes]]:
        """The raw events that parse as JSON objects; the others are set aside."""
        events = []
        for key, body in whole_events(self._store, fetch_all(self._store, keys)):
            try:
                whole = isinstance(json.loads(body), dict)
            except ValueError:
                whole = False
            if whole:
                events.append((key, body))
            else:
                set_aside(self._store, key, "not a JSON object")
        return events

    def _remove_orphans(self, source: str, hour: datetime, manifest: Manifest | None) -> None:
        for key in self._store.list(compacted_prefix(source, hour)):
            if key.endswith(".parquet") and (manifest is None or key != manifest.file):
                self._store.delete(key)

    def closed_hours(self, lookback_hours: int = LOOKBACK_HOURS) -> list[datetime]:
        now = self._clock()
        last = (now - CLOSE_GRACE).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        return [last - timedelta(hours=n) for n in range(lookback_hours)]

    def run(self, lookback_hours: int = LOOKBACK_HOURS) -> dict[str, int]:
        """Compact every closed hour in the lookback window that the hour index knows of."""
        index = HourIndex(self._store)
        results, failed = [], 0
        for hour in self.closed_hours(lookback_hours):
            for source in index.sources(hour):
                try:
                    results.append(self.compact_hour(source, hour))
                except Exception:  # one partition's failure never stops the others
                    failed += 1
                    log.exception(
                        "compaction of a partition failed",
                        extra={"fields": {"source": source, "hour": f"{hour:%Y-%m-%dT%H}"}},
                    )
        return {
            "partitions": len(results) + failed,
            "compacted": sum(1 for r in results if r["compacted"]),
            "events": sum(r["events"] for r in results if r["compacted"]),
            "failed": failed,
        }


def _digest(ids: list[str]) -> str:
    # The file format is part of the digest: an hour compacted in an older format is
    # compacted again (within the look-back) rather than left in it.
    return hashlib.sha256("\n".join([FORMAT, *sorted(ids)]).encode()).hexdigest()[:20]
