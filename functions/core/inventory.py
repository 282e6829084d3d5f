"""What a member holds, summarised for anti-entropy: per source and hour, a count and a digest
of the event ids stored there; the ids of one hour; one event found by its id. Everything is
read from listings (a page per thousand events), never one request per event. See
docs/peers.md (anti-entropy).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.core.errors import BadRequest, BlobNotFound
from functions.core.events import UUID_PATTERN, Envelope, partition_prefix, validate_source
from functions.core.partitions import INDEX_PREFIX, HourIndex, index_key
from functions.core.ports import BlobStore
from functions.core.quarantine import decode_or_set_aside

HOUR = timedelta(hours=1)
HOUR_FORMAT = "%Y-%m-%dT%H"
MAX_WINDOW = timedelta(days=3660)  # ten years: a backfill's upper bound


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours(start: datetime, end: datetime) -> list[datetime]:
    """Every hour from the one holding `start` to the one holding `end`, both included."""
    first, last = floor_hour(start), floor_hour(end)
    if last < first or last - first > MAX_WINDOW:
        raise BadRequest("the window must run forwards and span at most ten years")
    return [first + HOUR * n for n in range(int((last - first) / HOUR) + 1)]


def hour_text(hour: datetime) -> str:
    return hour.strftime(HOUR_FORMAT)


def parse_hour(text: str) -> datetime:
    try:
        return datetime.strptime(text, HOUR_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadRequest(f"hour must be YYYY-MM-DDTHH, not {text[:40]!r}") from exc


def digest_of(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def cell(source: str, hour: datetime) -> str:
    """A (source, hour) as one key: `github/2026-12-03T04`."""
    return f"{source}/{hour_text(hour)}"


def split_cell(text: str) -> tuple[str, datetime]:
    source, _, hour = text.rpartition("/")
    return validate_source(source), parse_hour(hour)


def time_of_id(event_id: str) -> datetime:
    """A UUIDv7's 48-bit millisecond timestamp: the time its origin received the event."""
    if not UUID_PATTERN.fullmatch(event_id) or event_id[14] != "7":
        raise BadRequest("id must be a lower-case canonical UUIDv7")
    millis = int(event_id.replace("-", "")[:12], 16)
    return datetime.fromtimestamp(millis / 1000, UTC)


class Inventory:
    """Reads what a store holds, per source and hour, from the hour index and the listings of
    the raw events (which compaction leaves in place)."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self._index = HourIndex(store)

    def sources(self, hour: datetime) -> list[str]:
        return self._index.sources(hour)

    def ids(self, source: str, hour: datetime) -> set[str]:
        prefix = partition_prefix(source, hour)
        return {
            key[len(prefix) :].removesuffix(".json")
            for key in self._store.list(prefix)
            if key.endswith(".json") and "/" not in key[len(prefix) :]
        }

    def mark(self, source: str, hour: datetime) -> None:
        """Restore an hour's index marker (deleted by hand, or its bucket restored from an old
        backup): without it the hour's events are stored but left out of its digests."""
        self._store.put_if_absent(index_key(source, hour), b"")

    def indexed(self, window: list[datetime]) -> list[tuple[str, datetime]]:
        """Every (source, hour) of the window that the hour index names: one listing per day
        of the window (`index/hour=YYYY-MM-DD`), not one per hour."""
        wanted, found = set(window), []
        for day in sorted({hour.strftime("%Y-%m-%d") for hour in window}):
            prefix = f"{INDEX_PREFIX}hour={day}"
            for key in self._store.list(prefix):
                hour_part, _, source = key[len(INDEX_PREFIX) :].partition("/source=")
                try:
                    hour = parse_hour(hour_part.removeprefix("hour="))
                except BadRequest:  # not an index key of ours: ignored
                    continue
                if hour in wanted and source:
                    found.append((source, hour))
        return found

    def digests(self, window: list[datetime]) -> dict[str, dict[str, Any]]:
        """`source/hour` -> {"count", "digest"}, for every (source, hour) holding events."""
        summary: dict[str, dict[str, Any]] = {}
        for source, hour in self.indexed(window):
            ids = self.ids(source, hour)
            if ids:
                summary[cell(source, hour)] = {"count": len(ids), "digest": digest_of(ids)}
        return summary

    def envelopes(self, source: str, hour: datetime, ids: Iterable[str]) -> Iterator[Any]:
        """The stored envelopes (as JSON) of these ids; one missing meanwhile is skipped."""
        prefix = partition_prefix(source, hour)
        for event_id in sorted(ids):
            key = f"{prefix}{event_id}.json"
            try:
                data = self._store.get(key)
            except BlobNotFound:  # gone meanwhile
                continue
            # A damaged event is set aside (docs/architecture.md, damaged objects), never sent:
            # the next run fetches a good copy from a peer that has one.
            envelope = decode_or_set_aside(self._store, key, data, _envelope)
            if envelope is not None:
                yield envelope

    def find(self, event_id: str) -> Any | None:
        """One event by its id, wherever its source: the id holds its hour, the hour index
        names the hour's sources, one read each."""
        hour = floor_hour(time_of_id(event_id))
        for source in self.sources(hour):
            found = list(self.envelopes(source, hour, [event_id]))
            if found:
                return found[0]
        return None


def _envelope(data: bytes) -> Any:
    """A stored envelope, checked as a peer's is: its JSON, only if it is a whole envelope."""
    raw = json.loads(data)
    Envelope.from_dict(raw)
    return raw
