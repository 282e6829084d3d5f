"""`GET /query`: DuckDB over one partition's stored events, newest first (docs/query.md)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from functions.core.errors import BadRequest, BlobNotFound, StorageError
from functions.core.events import partition_prefix, validate_source
from functions.core.ports import BlobStore
from functions.core.quarantine import set_aside

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
QUERY_PARAMS = frozenset({"source", "date", "hour", "limit"})
FETCH_WORKERS = 32
PLAN_ATTEMPTS = 5  # plans made again when compaction keeps replacing what one names

# The envelope's columns as DuckDB reads them; received_at is the fixed-width UTC text we write,
# so ordering it as text is ordering it in time.
COLUMNS = {
    "id": "VARCHAR",
    "source": "VARCHAR",
    "received_at": "VARCHAR",
    "origin": "VARCHAR",
    "idempotency_key": "VARCHAR",
    "headers": "JSON",
    "payload": "JSON",
}


@dataclass(frozen=True)
class QueryParams:
    source: str
    day: date
    hour: int | None
    limit: int

    @property
    def prefix(self) -> str:
        moment = datetime(self.day.year, self.day.month, self.day.day, self.hour or 0)
        return partition_prefix(self.source, moment, hour=self.hour is not None)


def _single(query: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    values = query.get(name, ())
    if len(values) > 1:
        raise BadRequest(f"query parameter {name!r} is given more than once")
    return values[0] if values else None


def _bounded_int(text: str | None, name: str, low: int, high: int) -> int | None:
    if text is None:
        return None
    # isdigit() alone also takes '²' and Arabic-Indic digits; only ASCII digits are numbers here.
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def parse_query(query: Mapping[str, tuple[str, ...]]) -> QueryParams:
    unknown = sorted(set(query) - QUERY_PARAMS)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
    source, day_text = _single(query, "source"), _single(query, "date")
    if source is None or day_text is None:
        raise BadRequest("source and date are required")
    try:
        day = date.fromisoformat(day_text) if len(day_text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadRequest("date must be a calendar date as YYYY-MM-DD")
    hour = _bounded_int(_single(query, "hour"), "hour", 0, 23)
    limit = _bounded_int(_single(query, "limit"), "limit", 1, MAX_LIMIT)
    return QueryParams(validate_source(source), day, hour, limit or DEFAULT_LIMIT)


def fetch_all(
    store: BlobStore, keys: list[str], workers: int = FETCH_WORKERS
) -> Iterator[tuple[str, bytes | None]]:
    """Every object's key and bytes (None: deleted meanwhile), fetched concurrently."""

    def get(key: str) -> tuple[str, bytes | None]:
        try:
            return key, store.get(key)
        except BlobNotFound:
            return key, None

    if not keys:
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
        yield from pool.map(get, keys)


def whole_events(
    store: BlobStore, fetched: Iterator[tuple[str, bytes | None]]
) -> list[tuple[str, bytes]]:
    """The raw events that look whole (one JSON object on one line: a cheap test of the ends,
    no parse); the others, e.g. truncated or empty, are set aside. Events gone are skipped."""
    events: list[tuple[str, bytes]] = []
    for key, blob in fetched:
        if blob is None:
            continue
        body = blob.strip()
        if body[:1] == b"{" and body[-1:] == b"}" and b"\n" not in body:
            events.append((key, body))
        else:
            set_aside(store, key, "not one JSON object on one line (truncated or empty?)")
    return events


def write_ndjson(path: str, blobs: list[bytes]) -> None:
    with open(path, "wb") as out:
        for blob in blobs:
            out.write(blob + b"\n")


@dataclass
class Sources:
    """What a query reads: compacted Parquet objects and the raw events not in them."""

    parquet: list[str]
    raw: list[str]


def plan(store: BlobStore, params: QueryParams) -> Sources:
    """Compacted hours: their Parquet file plus the late events marked since (a few keys);
    other hours: their raw events. Raw events of compacted hours are never listed."""
    from functions.core.partitions import compacted_prefix, late_prefix, load_manifest

    day = datetime(params.day.year, params.day.month, params.day.day)
    scope = day.replace(hour=params.hour) if params.hour is not None else day
    compacted_scope = compacted_prefix(params.source, scope)
    if params.hour is None:
        compacted_scope = compacted_scope.rsplit("hour=", 1)[0]
    compacted_hours = sorted(
        {
            int(k.split("/hour=")[1][:2])
            for k in store.list(compacted_scope)
            if k.endswith(("/_manifest.json", "/manifest.json"))
        }
    )
    sources = Sources([], [])
    if not compacted_hours:
        sources.raw = [k for k in store.list(params.prefix) if k.endswith(".json")]
        return sources
    hours = [params.hour] if params.hour is not None else list(range(24))
    for hour in hours:
        moment = day.replace(hour=hour)
        manifest = load_manifest(store, params.source, moment) if hour in compacted_hours else None
        prefix = partition_prefix(params.source, moment)
        if manifest is None:
            sources.raw += [k for k in store.list(prefix) if k.endswith(".json")]
            continue
        sources.parquet.append(manifest.file)
        late = late_prefix(params.source, moment)
        sources.raw += [
            f"{prefix}{k[len(late) :]}.json"
            for k in store.list(late)
            if k[len(late) :] not in manifest.ids
        ]
    return sources


class EventQuery:
    """Plans the partition (compacted hours from Parquet, the rest and late events from raw
    JSON), fetches what it needs concurrently, and lets DuckDB order and limit the rows."""

    def __init__(
        self, store: BlobStore, workers: int = FETCH_WORKERS, memory_mb: int | None = None
    ) -> None:
        self._store = store
        self._memory_mb = memory_mb
        self._workers = workers

    def run(self, params: QueryParams) -> list[dict[str, Any]]:
        """Rows from one consistent plan: when a compacted file the plan named is gone (the
        compactor replaced it meanwhile) or damage was set aside, the plan is made again from
        the manifests as they are now (docs/query.md, "Reads while compaction runs")."""
        for _ in range(PLAN_ATTEMPTS):
            sources = plan(self._store, params)
            if not sources.raw and not sources.parquet:
                return []
            rows = self._read(sources, params)
            if rows is not None:
                return rows
        raise StorageError(f"{params.prefix} changed under {PLAN_ATTEMPTS} plans in a row")

    def _read(self, sources: Sources, params: QueryParams) -> list[dict[str, Any]] | None:
        """The rows, or None when the plan went stale or damage was found and set aside."""
        from duckdb import Error as DuckError

        from functions.core.partitions import forget_file

        with tempfile.TemporaryDirectory(prefix="lambda-query-") as tmp:
            ndjson = os.path.join(tmp, "events.ndjson")
            events = whole_events(self._store, fetch_all(self._store, sources.raw, self._workers))
            write_ndjson(ndjson, [body for _key, body in events])
            parquet: dict[str, str] = {}  # local copy -> its key
            stale = False
            for n, (key, blob) in enumerate(fetch_all(self._store, sources.parquet)):
                if blob is None:
                    stale = True
                    forget_file(self._store, key, "names a compacted file that is gone", False)
                    continue
                path = os.path.join(tmp, f"part-{n}.parquet")
                parquet[path] = key
                with open(path, "wb") as out:
                    out.write(blob)
            if stale:
                return None
            try:
                return self._select(ndjson if events else None, list(parquet), params)
            except DuckError:
                if not self._set_aside_damage(events, parquet, params):
                    raise
                return None

    def _set_aside_damage(
        self, events: list[tuple[str, bytes]], parquet: dict[str, str], params: QueryParams
    ) -> bool:
        """After DuckDB refused the whole: each Parquet file alone, then each raw event as
        JSON; the damaged ones are set aside (a compacted file with its manifest removed, so
        that the hour is read raw and compacted again). Whether any was found."""
        import duckdb

        from functions.core.partitions import forget_file

        # Out of memory, interrupted, DuckDB's own fault: no verdict on the file.
        no_verdict: tuple[type[Exception], ...] = (
            duckdb.OutOfMemoryException,
            duckdb.InterruptException,
            duckdb.FatalException,
            duckdb.InternalException,
        )
        found = False
        for path, key in parquet.items():
            try:
                self._select(None, [path], params)
            except no_verdict:
                raise
            except duckdb.Error as exc:
                set_aside(self._store, key, f"unreadable Parquet: {exc}")
                forget_file(self._store, key, "its compacted file is damaged", True)
                found = True
        for key, body in events:
            try:
                whole = isinstance(json.loads(body), dict)
            except ValueError:
                whole = False
            if not whole:
                set_aside(self._store, key, "not a JSON object")
                found = True
        return found

    def _select(
        self, ndjson: str | None, parquet: list[str], params: QueryParams
    ) -> list[dict[str, Any]]:
        from functions.core import duck  # DuckDB (~140 ms) on the first query, never /health

        names = ", ".join(COLUMNS)
        parts: list[str] = []
        args: list[Any] = []
        if ndjson:
            types = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
            parts.append(
                f"SELECT {names} FROM read_json(?, format = 'newline_delimited', columns = {types})"
            )
            args.append(ndjson)
        for path in parquet:
            # Compacted files carry no `source` (their path does) and a UTC timestamp, shown
            # in the envelope's own form; files compacted before that held both as text. One
            # SELECT per file, so that each file's own types decide.
            parts.append(
                "SELECT id, ? AS source, CASE WHEN typeof(received_at) = 'VARCHAR' "
                "THEN received_at::VARCHAR ELSE strftime(received_at::TIMESTAMPTZ, "
                "'%Y-%m-%dT%H:%M:%S.%fZ') END AS received_at, origin, idempotency_key, "
                "headers::JSON AS headers, payload::JSON AS payload FROM read_parquet(?)"
            )
            args += [params.source, path]
        if not parts:  # every object of the partition was set aside as damaged
            return []
        sql = (
            f"SELECT {names} FROM ({' UNION ALL '.join(parts)}) "
            "ORDER BY received_at DESC, id DESC LIMIT ?"
        )
        with duck.connect(self._memory_mb) as con:
            rows = con.execute(sql, [*args, params.limit]).fetchall()
        return [_row(row) for row in rows]


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    event_id, source, received_at, origin, idem, headers, payload = row
    # JSON columns come back as text from both raw JSON and Parquet (where they are VARCHAR).
    return {
        "id": event_id,
        "source": source,
        "received_at": received_at,
        "origin": origin,
        "idempotency_key": idem,
        "headers": json.loads(headers) if headers else {},
        "payload": json.loads(payload) if payload is not None else None,
    }
