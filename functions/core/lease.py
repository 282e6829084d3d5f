"""A job lease in the bucket: at most one run of a job at a time, on every cloud alike, with no
reserved concurrency (which a new AWS account cannot grant). See docs/architecture.md (jobs).

A lease is a chain of generations, `leases/<job>/<n:012d>`, each created only by the store's
conditional create (`put_if_absent`): the newest generation is the lease. It holds its holder's
token and an expiry (the job's timeout, after which the platform has killed the run). A run
takes the lease by creating the generation after the newest when the newest has expired or was
released; two runs racing for the same generation meet the store's precondition and one loses.
Nothing is ever overwritten, so no read-then-write race exists; a run that finishes releases by
creating the next generation, already expired. A crashed run's lease simply lapses.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from functions.core.errors import BlobNotFound
from functions.core.ports import BlobStore, Clock

LEASE_PREFIX = "leases/"
KEEP = 2  # generations kept behind the newest (older ones are deleted by the next holder)


class Held(NamedTuple):
    generation: int
    token: str


class Lease:
    """One job's lease over `store`, for `ttl` from the moment it is taken."""

    def __init__(self, store: BlobStore, clock: Clock, job: str, ttl: timedelta) -> None:
        self._store, self._clock, self._ttl = store, clock, ttl
        self._prefix = f"{LEASE_PREFIX}{job}/"

    def acquire(self) -> Held | None:
        """The lease, or None when another run holds it (the caller exits at once)."""
        newest = self._newest()
        if newest is not None and not self._lapsed(newest):
            return None
        generation = 1 if newest is None else newest + 1
        token = secrets.token_hex(16)
        expires = self._clock() + self._ttl
        if not self._store.put_if_absent(self._key(generation), _body(token, expires)):
            return None  # another run created this generation first
        # A run that stalled between listing and creating may have created a generation that
        # a newer holder's clean-up had already deleted: only the newest generation holds.
        keys = self._list()
        if _newest(keys) != generation:
            return None
        self._clean(keys, generation)
        return Held(generation, token)

    def release(self, held: Held) -> None:
        """Hand the lease on at once: the next generation, expired from the start. If it exists
        already, the lease had lapsed and passed on, and there is nothing to release."""
        expired = self._clock() - timedelta(seconds=1)
        self._store.put_if_absent(self._key(held.generation + 1), _body("released", expired))

    def _newest(self) -> int | None:
        return _newest(self._list())

    def _list(self) -> dict[str, int]:
        """Key -> generation, for every well-formed generation key."""
        found = {}
        for key in self._store.list(self._prefix):
            name = key[len(self._prefix) :]
            if name.isdigit():
                found[key] = int(name)
        return found

    def _lapsed(self, generation: int) -> bool:
        """Expired, released, unreadable or gone: all mean nobody holds it."""
        try:
            record = json.loads(self._store.get(self._key(generation)))
            expires = datetime.fromisoformat(record["expires"])
        except (BlobNotFound, ValueError, KeyError, TypeError):
            return True
        return bool(expires <= self._clock())

    def _clean(self, keys: dict[str, int], holding: int) -> None:
        for key, generation in keys.items():
            if generation < holding - KEEP:
                self._store.delete(key)

    def _key(self, generation: int) -> str:
        return f"{self._prefix}{generation:012d}"


def _newest(keys: dict[str, int]) -> int | None:
    return max(keys.values(), default=None)


def _body(token: str, expires: datetime) -> bytes:
    return json.dumps({"token": token, "expires": expires.isoformat()}).encode()
