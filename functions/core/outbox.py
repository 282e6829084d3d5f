"""The outbox: deliveries to peers not (yet) acknowledged, kept in the origin's store. One
record per event for all its peers, written before the event, deleted once every peer has
acknowledged; keys ordered by when each is next due, so a retry run reads only what is due;
dead letters per peer. See docs/architecture.md (the write order) and docs/peers.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from functions.core.errors import BadRequest, BlobNotFound
from functions.core.events import Envelope, format_time, parse_time
from functions.core.ports import BlobStore
from functions.core.quarantine import decode_or_set_aside

PENDING = "outbox/"
DEAD = "outbox-dead/"
DUE_FORMAT = "%Y%m%dT%H%M%S%fZ"  # fixed width: lexical order is time order
BACKLOG_CAP = 10_000  # /peers counts at most this many keys per peer (10 listing pages)
SCAN_CAP = 10_000  # due keys a retry run lists at most (10 listing pages)


def peer_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Attempts:
    count: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class Record:
    """An event still owed to one or more peers, with each peer's attempts so far."""

    envelope: Envelope
    due: datetime
    peers: dict[str, Attempts] = field(default_factory=dict)

    @property
    def key(self) -> str:
        pending = ".".join(sorted(peer_id(url) for url in self.peers))
        return f"{PENDING}{self.due.strftime(DUE_FORMAT)}-{self.envelope.id}~{pending}.json"

    def encode(self) -> bytes:
        return json.dumps(
            {
                "envelope": self.envelope.to_dict(),
                "due": format_time(self.due),
                "peers": {
                    url: {"attempts": a.count, "last_error": a.last_error}
                    for url, a in sorted(self.peers.items())
                },
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> Record:
        raw: dict[str, Any] = json.loads(data)
        peers = {
            url: Attempts(int(a["attempts"]), a.get("last_error"))
            for url, a in raw["peers"].items()
        }
        return cls(Envelope.from_dict(raw["envelope"]), parse_time(raw["due"]), peers)


def due_of(key: str) -> datetime | None:
    stamp = key[len(PENDING) :].split("-", 1)[0]
    try:
        return datetime.strptime(stamp, DUE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def event_id_of(key: str) -> str:
    return key[len(PENDING) :].split("-", 1)[-1].split("~", 1)[0]


def pending_peers_of(key: str) -> list[str]:
    return key.rsplit("~", 1)[-1].removesuffix(".json").split(".") if "~" in key else []


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt of a record led to, per peer."""

    delivered: list[str]
    failed: dict[str, str]  # peer -> why
    dead: list[str]
    deferred: list[str] = field(default_factory=list)  # not attempted: kept, not charged


class Outbox:
    def __init__(self, store: BlobStore, max_attempts: int, backoff: tuple[float, float]) -> None:
        self._store = store
        self.max_attempts = max_attempts
        self._base, self._cap = backoff

    def delay(self, attempts: int) -> timedelta:
        """Before retry n+1: BASE after the first attempt, then doubling, up to CAP."""
        return timedelta(seconds=min(self._base * 2**attempts, self._cap))

    def add(
        self,
        peers: tuple[str, ...],
        envelope: Envelope,
        now: datetime,
        due: datetime | None = None,
    ) -> Record:
        """The write-ahead record: one PUT for all peers, due when the first retry would be
        (or at `due`: a repair or a replay is due at once)."""
        when = now + self.delay(0) if due is None else due
        record = Record(envelope, when, {url: Attempts() for url in peers})
        self._store.put(record.key, record.encode())
        return record

    def settle(
        self,
        record: Record,
        failed: dict[str, str],
        now: datetime,
        deferred: Collection[str] = (),
    ) -> Outcome:
        """After an attempt at the peers of `record`: done with the ones that acknowledged,
        rescheduled with backoff (a new key, due later) or dead-lettered for those that
        failed. `deferred` peers were not attempted (their peer was down in this run): they
        stay owed with their attempts unchanged, due with the others or, alone, as before."""
        delivered = [url for url in record.peers if url not in failed and url not in deferred]
        retry, dead = self._charge(record, failed)
        kept = {url: record.peers[url] for url in deferred} | retry
        again = None
        if kept:
            due = now + self.delay(min(a.count for a in retry.values())) if retry else record.due
            again = replace(record, due=due, peers=kept)
            if again != record:  # (all deferred: nothing to write)
                self._store.put(again.key, again.encode())  # written before the old one goes
        if again is None or again.key != record.key:  # the same due and peers: overwritten
            self._store.delete(record.key)
        return Outcome(delivered, {u: failed[u] for u in retry}, dead, list(deferred))

    def _charge(
        self, record: Record, failed: dict[str, str]
    ) -> tuple[dict[str, Attempts], list[str]]:
        """One more attempt for each failed peer: those within the limit, and those past it
        (dead-lettered)."""
        retry: dict[str, Attempts] = {}
        dead: list[str] = []
        for url, why in failed.items():
            attempts = Attempts(record.peers[url].count + 1, why[:500])
            if attempts.count >= self.max_attempts:
                self._dead_letter(url, record.envelope, attempts)
                dead.append(url)
            else:
                retry[url] = attempts
        return retry, dead

    def keep_for_retry(self, record: Record, failed: dict[str, str]) -> Record:
        """An inline attempt (the webhook's own): the record is already due at the first
        retry; only when some peers got it is it rewritten with the others alone."""
        if len(failed) == len(record.peers):
            return record
        fewer = replace(record, peers={u: record.peers[u] for u in failed})
        self._store.put(fewer.key, fewer.encode())
        self._store.delete(record.key)
        return fewer

    def done(self, record: Record) -> None:
        self._store.delete(record.key)

    def _dead_letter(self, url: str, envelope: Envelope, attempts: Attempts) -> None:
        letter = {
            "peer": url,
            "envelope": envelope.to_dict(),
            "attempts": attempts.count,
            "last_error": attempts.last_error,
        }
        key = f"{DEAD}peer={peer_id(url)}/{envelope.id}.json"
        self._store.put(key, json.dumps(letter, separators=(",", ":")).encode())

    def due(self, now: datetime, limit: int) -> list[Record]:
        """The records due by `now`, oldest first: reads stop at the first key not yet due."""
        records = (self.read(key) for key in self.due_keys(now))
        return list(islice((r for r in records if r is not None), limit))

    def due_keys(self, now: datetime, cap: int = SCAN_CAP) -> Iterator[str]:
        """The keys of the records due by `now`, oldest first, `cap` at most; the listing
        stops at the first key not yet due. Each names the peers it is owed to (by
        `peer_id`), so a run can pass over a record without reading it."""
        for n, key in enumerate(self._store.list(PENDING)):
            due = due_of(key)
            if n >= cap or (due is not None and due > now):
                return
            yield key

    def read(self, key: str) -> Record | None:
        """One record, or None when it is gone (settled meanwhile by another run) or damaged
        (set aside, so the records behind it go on)."""
        try:
            data = self._store.get(key)
        except BlobNotFound:
            return None
        return decode_or_set_aside(self._store, key, data, Record.decode)

    def requeue(self, now: datetime) -> int:
        """Every dead letter back in the outbox, due now, with fresh attempts; returns how
        many. Each record is written before its dead letter is removed, so a crash in between
        leaves a duplicate delivery (receivers are idempotent), never a lost one."""
        moved = 0
        for key in list(self._store.list(DEAD)):
            try:
                data = self._store.get(key)
            except BlobNotFound:
                continue
            record = decode_or_set_aside(
                self._store, key, data, lambda raw: _letter_record(raw, now)
            )
            if record is None:  # damaged: set aside, the letters beside it go on
                continue
            self._store.put(record.key, record.encode())
            self._store.delete(key)
            moved += 1
        return moved

    def backlog(self, peers: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Per peer, pending and dead counts, from key listings only. At most BACKLOG_CAP
        pending keys are counted in all: past them each peer's count is a floor, and says so
        (`"capped": true`), never a wrong definite number."""
        ids = {peer_id(url): url for url in peers}
        # Events, not keys: a record being rescheduled has its new key written before its old
        # one goes, and a listing in between sees both.
        pending: dict[str, set[str]] = {url: set() for url in peers}
        keys, capped = self._pending_keys()
        for key in keys:
            for pid in pending_peers_of(key):
                if pid in ids:
                    pending[ids[pid]].add(event_id_of(key))
        return {
            url: {
                "pending": len(pending[url]),
                "dead": sum(1 for _ in self._store.list(f"{DEAD}peer={peer_id(url)}/")),
            }
            | ({"capped": True} if capped else {})
            for url in peers
        }

    def _pending_keys(self) -> tuple[list[str], bool]:
        """The first BACKLOG_CAP pending keys, and whether there are more."""
        keys = list(islice(self._store.list(PENDING), BACKLOG_CAP + 1))
        return keys[:BACKLOG_CAP], len(keys) > BACKLOG_CAP

    def delivery_state(self, event_id: str, peers: tuple[str, ...]) -> dict[str, str]:
        """Per peer, where one event's delivery stands: "dead" (a dead letter), "pending" (an
        outbox record owes it), "delivered", or "unknown" when no record owing it is among
        the first BACKLOG_CAP pending keys and there are more (a record may lie beyond)."""
        keys, capped = self._pending_keys()
        state = dict.fromkeys(peers, "unknown" if capped else "delivered")
        ids = {peer_id(url): url for url in peers}
        for key in keys:
            if event_id_of(key) == event_id:
                for pid in pending_peers_of(key):
                    if pid in ids:
                        state[ids[pid]] = "pending"
        for url in peers:
            try:
                self._store.get(f"{DEAD}peer={peer_id(url)}/{event_id}.json")
                state[url] = "dead"
            except BlobNotFound:
                pass
        return state

    def dead_letters(
        self, url: str, wanted: Callable[[datetime], bool] = lambda _: True
    ) -> Iterator[tuple[str, Envelope]]:
        """One peer's dead letters, as (key, envelope), of the events whose time (in their
        UUIDv7 id) `wanted` accepts: the others are not read. A damaged one is skipped."""
        for key in list(self._store.list(f"{DEAD}peer={peer_id(url)}/")):
            if not wanted(_id_time(key.rsplit("/", 1)[-1].removesuffix(".json"))):
                continue
            try:
                yield key, Envelope.from_dict(json.loads(self._store.get(key))["envelope"])
            except (BlobNotFound, ValueError, KeyError, TypeError, BadRequest):
                continue

    def drop_dead(self, key: str) -> None:
        self._store.delete(key)


def _letter_record(data: bytes, now: datetime) -> Record:
    """A dead letter as a fresh outbox record, due now."""
    letter: dict[str, Any] = json.loads(data)
    peer = letter["peer"]
    if not isinstance(peer, str):
        raise TypeError("a dead letter's peer must be a URL")
    return Record(Envelope.from_dict(letter["envelope"]), now, {peer: Attempts()})


def _id_time(event_id: str) -> datetime:
    """A UUIDv7's millisecond timestamp (an id of another form: the epoch)."""
    try:
        millis = int(event_id.replace("-", "")[:12], 16)
    except ValueError:
        millis = 0
    return datetime.fromtimestamp(millis / 1000, UTC)
