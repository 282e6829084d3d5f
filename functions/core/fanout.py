"""Fan-out: a stored event is delivered to every peer's `/internal/event`, concurrently and
within a bounded time, *before* the webhook answers (Lambda freezes, and Cloud Run / Flex
throttle, whatever runs after a response). What does not get through stays in the outbox and
is retried on a schedule; receivers store idempotently, so at-least-once delivery yields one
stored copy per peer."""

from __future__ import annotations

import concurrent.futures as futures
import logging
from collections.abc import Sequence
from typing import Protocol

from functions.core.events import Envelope
from functions.core.ingest import encode
from functions.core.outbox import Entry, Outbox
from functions.core.ports import Clock
from functions.core.signing import PeerSigner

RETRY_BATCH = 1000
WORKERS = 16


class DeliveryError(Exception):
    pass


class Transport(Protocol):
    """Posts a signed body to a peer; raises `DeliveryError` unless the peer acknowledged."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None: ...


class HttpxTransport:
    """One pooled HTTP client per warm instance."""

    def __init__(self) -> None:
        import httpx  # imported when the first event fans out, not at cold start

        self._httpx = httpx
        self._client = httpx.Client(limits=httpx.Limits(max_connections=64))

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        try:
            response = self._client.post(url, content=body, headers=headers, timeout=timeout)
        except self._httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code not in (200, 201):
            raise DeliveryError(f"peer answered {response.status_code}: {response.text[:200]}")


class FanOut:
    def __init__(
        self,
        peers: Sequence[str],
        outbox: Outbox,
        signer: PeerSigner,
        transport: Transport,
        clock: Clock,
        timeout_s: float,
        log: logging.Logger | None = None,
    ) -> None:
        self.log = log or logging.getLogger("lambda")
        self.peers = tuple(peers)
        self.outbox = outbox
        self._signer = signer
        self._transport = transport
        self._clock = clock
        self._timeout = timeout_s
        self._pool = futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fanout")

    def _send(self, entry: Entry) -> None:
        body = encode(entry.envelope)
        headers = self._signer.headers(entry.envelope.id, body, self._clock())
        self._transport.post(f"{entry.peer}/internal/event", body, headers, self._timeout)
        self.outbox.done(entry)

    def deliver(self, envelope: Envelope) -> dict[str, bool]:
        """Record the deliveries, then attempt them all at once for at most the timeout."""
        now = self._clock()
        entries = list(
            self._pool.map(lambda peer: self.outbox.add(peer, envelope, now), self.peers)
        )
        pending = {self._pool.submit(self._send, entry): entry.peer for entry in entries}
        done, _ = futures.wait(pending, timeout=self._timeout + 0.25)
        # A slow peer's attempt may still finish in the background; if it does not, its outbox
        # entry (already scheduled) brings it back on the next retry run.
        results = {}
        for job, peer in pending.items():
            error = job.exception() if job in done else f"no answer within {self._timeout} s"
            results[peer] = error is None
            if error is not None:
                self._log_failure(peer, envelope.id, error, 1, queued=True)
        return results

    def _log_failure(
        self, peer: str, event_id: str, error: object, attempt: int, *, queued: bool
    ) -> None:
        """Once per failed attempt: which peer, which event, why, and what happens next."""
        self.log.warning(
            "peer delivery failed",
            extra={
                "fields": {
                    "peer": peer,
                    "event_id": event_id,
                    "attempt": attempt,
                    "error": str(error)[:300],
                    "next": "retry from the outbox" if queued else "dead-lettered",
                }
            },
        )

    def retry(self, limit: int = RETRY_BATCH) -> dict[str, int]:
        """Attempt every due outbox entry once; reschedule or dead-letter the failures."""
        entries = self.outbox.due(self._clock(), limit)
        results = {"attempted": len(entries), "delivered": 0, "failed": 0, "dead": 0}
        jobs = {self._pool.submit(self._send, entry): entry for entry in entries}
        for job in futures.as_completed(jobs):
            error = job.exception()
            if error is None:
                results["delivered"] += 1
                continue
            updated = self.outbox.failed(jobs[job], str(error), self._clock())
            dead = updated.attempts >= self.outbox.max_attempts
            results["dead" if dead else "failed"] += 1
            self._log_failure(
                updated.peer, updated.envelope.id, error, updated.attempts + 1, queued=not dead
            )
        return results
