"""Storing events: fresh webhooks (with idempotency) and envelopes received from peers."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from functions.core.errors import BadRequest
from functions.core.events import IDEMPOTENCY_PREFIX, Envelope
from functions.core.partitions import HourIndex, late_key
from functions.core.ports import BlobStore, Clock


class Stored(NamedTuple):
    envelope: Envelope
    duplicate: bool
    created: bool = True
    """This call wrote the event (a fresh one, or a duplicate's first attempt repaired)."""


def encode(envelope: Envelope) -> bytes:
    return json.dumps(envelope.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: invalid UTF-8, NaN and Infinity are all a 400."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc


def marker_key(source: str, idempotency_key: str) -> str:
    import hashlib  # only for deliveries that carry an idempotency key

    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"{IDEMPOTENCY_PREFIX}source={source}/{digest}.json"


class EventStore:
    """Writes envelopes with the store's conditional create, so that retries and races store
    one copy. The idempotency marker holds the whole first envelope: a retry that finds the
    marker but not the event (the first attempt died between the two writes) stores it then,
    so an accepted event is never lost."""

    def __init__(
        self, store: BlobStore, index: HourIndex | None = None, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._index = index
        self._clock = clock

    def _write(self, envelope: Envelope) -> bool:
        """Markers first, then the event: a marker without its event is harmless, an event
        without its markers could be missed by compaction or by a compacted hour's query."""
        hour = envelope.received_at.replace(minute=0, second=0, microsecond=0)
        if self._index is not None:
            self._index.mark(envelope.source, hour)
        if self._clock is not None and hour < self._clock().replace(
            minute=0, second=0, microsecond=0
        ):
            self._store.put(late_key(envelope.source, hour, envelope.id), b"")
        return self._store.put_if_absent(envelope.key, encode(envelope))

    def ingest(self, envelope: Envelope) -> Stored:
        if envelope.idempotency_key is None:
            self._write(envelope)
            return Stored(envelope, duplicate=False)
        marker = marker_key(envelope.source, envelope.idempotency_key)
        if self._store.put_if_absent(marker, encode(envelope)):
            self._write(envelope)
            return Stored(envelope, duplicate=False)
        first = Envelope.from_dict(json.loads(self._store.get(marker)))
        repaired = self._write(first)
        return Stored(first, duplicate=True, created=repaired)

    def receive(self, envelope: Envelope) -> Stored:
        """Store a peer's envelope under its original key and id, once."""
        data = encode(envelope)
        if envelope.idempotency_key is not None:
            # Lets a later direct delivery of the same webhook here be seen as a duplicate.
            self._store.put_if_absent(marker_key(envelope.source, envelope.idempotency_key), data)
        created = self._write(envelope)
        return Stored(envelope, duplicate=not created, created=created)
