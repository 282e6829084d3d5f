"""Storing events: fresh webhooks (with idempotency) and envelopes received from peers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from functions.core.errors import BadRequest, BlobNotFound, Conflict
from functions.core.events import IDEMPOTENCY_PREFIX, Envelope
from functions.core.partitions import HourIndex, late_key
from functions.core.ports import BlobStore, Clock
from functions.core.quarantine import DAMAGE, set_aside

R = TypeVar("R")


class Stored(NamedTuple):
    envelope: Envelope
    duplicate: bool
    created: bool = True
    """This call wrote the event (a fresh one, or a duplicate's first attempt repaired)."""


# Built once: json.dumps and json.loads with any option build a new encoder or decoder per call.
_STORED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_CHECK = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def encode(envelope: Envelope) -> bytes:
    return _STORED.encode(envelope.to_dict()).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # 1e999 parses as infinity, which JSON cannot carry
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_STRICT = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite)


def parse_json(body: bytes) -> Any:
    """Strict JSON (RFC 8259), so that what is accepted here can be stored, queried and sent to
    every peer as JSON: invalid UTF-8, NaN, Infinity, numbers that overflow to infinity,
    unpaired surrogates (`"\\ud800"`, valid escape syntax but no character) and nesting deeper
    than the parser can take are all a 400."""
    try:
        value = _STRICT.decode(body.decode("utf-8"))
        # Re-encoding proves the value can be stored: this is where a lone surrogate fails.
        _CHECK.encode(value).encode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError, ValueError) as exc:
        raise BadRequest(f"body is not valid JSON: {str(exc)[:200]}") from exc
    except RecursionError as exc:
        raise BadRequest("body is nested too deeply") from exc
    return value


def marker_key(source: str, idempotency_key: str) -> str:
    import hashlib  # only for deliveries that carry an idempotency key

    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"{IDEMPOTENCY_PREFIX}source={source}/{digest}.json"


class EventStore:
    """Writes envelopes with the store's conditional create, so that retries and races store
    one copy. The idempotency marker holds the whole first envelope: a retry that finds the
    marker but not the event (the first attempt died between the two writes) stores it then,
    so an accepted event is never lost.

    Order of writes for a webhook: marker (with a key), then whatever `ahead` writes (the
    outbox's record of the delivery to peers), then the event. So an event that exists at the
    origin always has its delivery recorded, and a retry that finds the event can answer
    "duplicate" without fanning out again: wherever a crash cut the first attempt short, the
    retry or the outbox finishes it."""

    def __init__(
        self, store: BlobStore, index: HourIndex | None = None, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._index = index
        self._clock = clock

    def write(self, envelope: Envelope) -> bool:
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

    def has(self, envelope: Envelope) -> bool:
        """Whether the event is stored (one read: cheaper than a conditional write that fails)."""
        try:
            self._store.get(envelope.key)
        except BlobNotFound:
            return False
        return True

    def ingest(
        self, envelope: Envelope, ahead: Callable[[Envelope], R] | None = None
    ) -> tuple[Stored, R | None]:
        """Store a fresh webhook once; `ahead(envelope)` runs just before the event is written
        (not at all for a duplicate whose event exists) and its result is returned."""
        first, duplicate = envelope, False
        if envelope.idempotency_key is not None:
            marker = marker_key(envelope.source, envelope.idempotency_key)
            if not self._store.put_if_absent(marker, encode(envelope)):
                first, duplicate = self._first(marker), True
                if self.has(first):
                    return Stored(first, duplicate=True, created=False), None
        done = ahead(first) if ahead is not None else None
        created = self.write(first)
        return Stored(first, duplicate=duplicate, created=created), done

    def _first(self, marker: str) -> Envelope:
        """The first envelope of a keyed delivery, from its idempotency record. A damaged record
        cannot say whether that delivery was stored, so neither storing this one (maybe a
        second copy) nor answering "duplicate" (maybe a lost event) is true: the record stays
        in place (every retry gets the same answer), a copy is set aside for an operator, and
        the answer is a 409 (docs/architecture.md, "Damaged objects")."""
        try:
            data = self._store.get(marker)
        except BlobNotFound:  # removed since the create failed: an operator's repair
            raise Conflict("this delivery's idempotency record went away; send it again") from None
        try:
            return Envelope.from_dict(json.loads(data))
        except DAMAGE as exc:
            set_aside(self._store, marker, f"{type(exc).__name__}: {exc}", keep=True)
            raise Conflict(
                "this delivery's idempotency record is damaged, so whether it was stored "
                "cannot be told; it is kept for an operator"
            ) from exc

    def receive(self, envelope: Envelope) -> Stored:
        """Store a peer's envelope under its original key and id, once."""
        data = encode(envelope)
        if envelope.idempotency_key is not None:
            # Lets a later direct delivery of the same webhook here be seen as a duplicate.
            self._store.put_if_absent(marker_key(envelope.source, envelope.idempotency_key), data)
        created = self.write(envelope)
        return Stored(envelope, duplicate=not created, created=created)
