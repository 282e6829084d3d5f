"""Fakes injected through constructors (STYLE.md #12): a clock and an in-memory store."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from functions.core.errors import BlobNotFound

# Where every fake clock starts unless its test pins an instant of its own: mid-morning UTC,
# or what LAMBDA_TEST_NOW says (ISO 8601). The suite must pass wherever it starts, e.g. half a
# second before midnight UTC: `LAMBDA_TEST_NOW=2026-12-31T23:59:59.5+00:00 make test`.
DEFAULT_NOW = datetime.fromisoformat(
    os.environ.get("LAMBDA_TEST_NOW") or "2026-11-23T10:59:59.5+00:00"
)
# The instant a test pins when it is about a particular hour or day.
MORNING = datetime(2026, 11, 23, 10, 59, 59, 500000, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or DEFAULT_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Elapsed:
    """A monotonic clock at 0 when first read, `seconds` later at every reading after: a job
    that has spent `seconds` of its time by its second look at the clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.read = seconds, False

    def __call__(self) -> float:
        first, self.read = not self.read, True
        return 0.0 if first else self.seconds


class MemoryBlobStore:
    """A dict behind a lock; passes the same contract suite as the real stores."""

    def __init__(self) -> None:
        self.name = "memory"
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self.objects[key] = data

    def put_if_absent(self, key: str, data: bytes) -> bool:
        with self._lock:
            if key in self.objects:
                return False
            self.objects[key] = data
            return True

    def get(self, key: str) -> bytes:
        with self._lock:
            if key not in self.objects:
                raise BlobNotFound(key)
            return self.objects[key]

    def list(self, prefix: str) -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self.objects if k.startswith(prefix))
        yield from keys

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(key, None)


class FailingOnceStore(MemoryBlobStore):
    """Fails the first write whose key starts with `prefix`, as a crash or outage would."""

    def __init__(self, prefix: str, error: Exception) -> None:
        super().__init__()
        self.prefix, self.error, self.failed = prefix, error, False

    def _fail_once(self, key: str) -> None:
        if key.startswith(self.prefix) and not self.failed:
            self.failed = True
            raise self.error

    def put(self, key: str, data: bytes) -> None:
        self._fail_once(key)
        super().put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        self._fail_once(key)
        return super().put_if_absent(key, data)


class CountingStore(MemoryBlobStore):
    """Counts each call the way a cloud bills it: puts (conditional ones too), gets, listed
    keys, deletes; `calls` keeps the order, as (call, key)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {"put": 0, "get": 0, "listed": 0, "delete": 0}
        self.calls: list[tuple[str, str]] = []

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)
        self.calls = []

    def put(self, key: str, data: bytes) -> None:
        self.counts["put"] += 1
        self.calls.append(("put", key))
        super().put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        self.counts["put"] += 1
        self.calls.append(("put_if_absent", key))
        return super().put_if_absent(key, data)

    def get(self, key: str) -> bytes:
        self.counts["get"] += 1
        self.calls.append(("get", key))
        return super().get(key)

    def list(self, prefix: str) -> Iterator[str]:
        for key in super().list(prefix):
            self.counts["listed"] += 1
            yield key

    def delete(self, key: str) -> None:
        self.counts["delete"] += 1
        self.calls.append(("delete", key))
        super().delete(key)


class FakePeers:
    """The peers a fan-out posts to: records deliveries, checks signatures like a peer would
    (with `secret`), refuses `down` peers, answers `rejecting` ones 400, and blocks `hung` ones
    until the test releases them, whatever the timeout says (bounding the wait is the code's
    job, never the fake's). It fails as HttpxTransport does: `Unreachable` for a peer that
    gave no answer (httpx's ConnectError, a timeout), `DeliveryError` for one that answered."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.down: set[str] = set()
        self.hung: set[str] = set()
        self.rejecting: set[str] = set()
        self.release = threading.Event()
        self.calls: list[str] = []
        self.delivered: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        import json

        from functions.core.signing import PeerSigner
        from functions.core.transport import DeliveryError, Unreachable

        peer = url.removesuffix("/internal/event")
        with self._lock:
            self.calls.append(peer)
        if peer in self.hung:
            self.release.wait(30)
            raise Unreachable("released by the test")
        if peer in self.down:
            raise Unreachable("connection refused")
        if peer in self.rejecting:
            raise DeliveryError('peer answered 400: {"error": {"code": "bad_request"}}')
        if self.secret is not None:
            PeerSigner(self.secret).verify(body, headers)  # raises if unsigned or tampered
        with self._lock:
            self.delivered.append((peer, json.loads(body)["id"]))
