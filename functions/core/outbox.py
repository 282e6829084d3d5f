"""The outbox: deliveries to peers that have not (yet) succeeded, kept in the origin's store.

Each pending delivery is one object, `outbox/peer={peer}/{event id}.json`, written *before* the
first attempt so that nothing is lost if the process dies mid-delivery; it is deleted once the
peer has acknowledged. After `max_attempts` it moves to `outbox-dead/...`, where `GET /peers`
counts it and an operator can see it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from functions.core.errors import BlobNotFound
from functions.core.events import Envelope, format_time, parse_time
from functions.core.ports import BlobStore

PENDING = "outbox/"
DEAD = "outbox-dead/"


def peer_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    peer: str
    envelope: Envelope
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None

    @property
    def key(self) -> str:
        return f"{PENDING}peer={peer_id(self.peer)}/{self.envelope.id}.json"

    def encode(self) -> bytes:
        return json.dumps(
            {
                "peer": self.peer,
                "envelope": self.envelope.to_dict(),
                "attempts": self.attempts,
                "next_attempt_at": format_time(self.next_attempt_at),
                "last_error": self.last_error,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        raw: dict[str, Any] = json.loads(data)
        return cls(
            raw["peer"],
            Envelope.from_dict(raw["envelope"]),
            int(raw["attempts"]),
            parse_time(raw["next_attempt_at"]),
            raw.get("last_error"),
        )


class Outbox:
    def __init__(self, store: BlobStore, max_attempts: int, backoff: tuple[float, float]) -> None:
        self._store = store
        self.max_attempts = max_attempts
        self._base, self._cap = backoff

    def delay(self, attempts: int) -> timedelta:
        """Before retry n+1: BASE after the first attempt, then doubling, up to CAP."""
        return timedelta(seconds=min(self._base * 2**attempts, self._cap))

    def add(self, peer: str, envelope: Envelope, now: datetime) -> Entry:
        entry = Entry(peer, envelope, 0, now + self.delay(0))
        self._store.put(entry.key, entry.encode())
        return entry

    def done(self, entry: Entry) -> None:
        self._store.delete(entry.key)

    def failed(self, entry: Entry, error: str, now: datetime) -> Entry:
        """Reschedule with backoff, or dead-letter once the attempts are used up."""
        attempts = entry.attempts + 1
        updated = replace(
            entry,
            attempts=attempts,
            next_attempt_at=now + self.delay(attempts),
            last_error=error[:500],
        )
        if attempts >= self.max_attempts:
            self._store.put(DEAD + entry.key[len(PENDING) :], updated.encode())
            self._store.delete(entry.key)
        else:
            self._store.put(entry.key, updated.encode())
        return updated

    def due(self, now: datetime, limit: int) -> list[Entry]:
        entries: list[Entry] = []
        for key in self._store.list(PENDING):
            try:
                entry = Entry.decode(self._store.get(key))
            except BlobNotFound:  # delivered meanwhile by another attempt
                continue
            if entry.next_attempt_at <= now:
                entries.append(entry)
                if len(entries) >= limit:
                    break
        return entries

    def requeue(self, now: datetime) -> int:
        """Put every dead letter back in the outbox with fresh attempts, due now; returns how
        many. The pending entry is written before the dead letter is removed, so a crash in
        between leaves a duplicate delivery (receivers are idempotent), never a lost one."""
        moved = 0
        for key in list(self._store.list(DEAD)):
            try:
                entry = Entry.decode(self._store.get(key))
            except BlobNotFound:
                continue
            fresh = replace(entry, attempts=0, next_attempt_at=now)
            self._store.put(fresh.key, fresh.encode())
            self._store.delete(key)
            moved += 1
        return moved

    def backlog(self, peer: str) -> dict[str, int]:
        folder = f"peer={peer_id(peer)}/"
        return {
            "pending": sum(1 for _ in self._store.list(PENDING + folder)),
            "dead": sum(1 for _ in self._store.list(DEAD + folder)),
        }
