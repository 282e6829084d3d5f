"""`GET /query`: DuckDB over one partition's stored events, newest first."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from functions.core.errors import BadRequest, BlobNotFound
from functions.core.events import partition_prefix, validate_source
from functions.core.ports import BlobStore

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
QUERY_PARAMS = frozenset({"source", "date", "hour", "limit"})
FETCH_WORKERS = 32

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
SQL = (
    "SELECT id, source, received_at, origin, idempotency_key, headers, payload "
    "FROM read_json(?, format = 'newline_delimited', columns = {columns}) "
    "ORDER BY received_at DESC, id DESC LIMIT ?"
)


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
    if not text.isdigit() or not low <= int(text) <= high:
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


class EventQuery:
    """Lists the partition, fetches its objects concurrently, and lets DuckDB order them."""

    def __init__(self, store: BlobStore, workers: int = FETCH_WORKERS) -> None:
        self._store = store
        self._workers = workers

    def run(self, params: QueryParams) -> list[dict[str, Any]]:
        keys = [key for key in self._store.list(params.prefix) if key.endswith(".json")]
        if not keys:
            return []
        with tempfile.TemporaryDirectory(prefix="lambda-query-") as tmp:
            path = os.path.join(tmp, "events.ndjson")
            with open(path, "wb") as out:
                for blob in self._fetch(keys):
                    out.write(blob.rstrip(b"\n") + b"\n")
            return self._select(path, params.limit)

    def _fetch(self, keys: list[str]) -> Iterator[bytes]:
        with ThreadPoolExecutor(max_workers=min(self._workers, len(keys))) as pool:
            yield from (blob for blob in pool.map(self._get_or_none, keys) if blob)

    def _get_or_none(self, key: str) -> bytes | None:
        try:
            return self._store.get(key)
        except BlobNotFound:  # deleted between the listing and the read
            return None

    @staticmethod
    def _select(path: str, limit: int) -> list[dict[str, Any]]:
        import duckdb  # heavy (~140 ms): imported on the first query, never on /health

        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoinstall_known_extensions": False
        }
        with duckdb.connect(config=config) as con:
            rows = con.execute(SQL.format(columns=columns), [path, limit]).fetchall()
        return [_row(row) for row in rows]


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    event_id, source, received_at, origin, idem, headers, payload = row
    return {
        "id": event_id,
        "source": source,
        "received_at": received_at,
        "origin": origin,
        "idempotency_key": idem,
        "headers": json.loads(headers) if headers else {},
        "payload": json.loads(payload) if payload is not None else None,
    }
