"""Fan-out: a stored event is delivered to every peer's `/internal/event`, concurrently and
within a bounded time, before the webhook answers; what does not get through stays in the
outbox for the retry job. A circuit breaker per peer and a bulkhead keep a dead or hung peer
from costing the others. See docs/peers.md.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

from functions.core.events import Envelope, child_of, trace_id_of
from functions.core.ingest import encode
from functions.core.outbox import Outbox, Record
from functions.core.ports import Clock
from functions.core.retry_run import RetryRun
from functions.core.signing import PeerSigner
from functions.core.transport import Busy, DeliveryError, Transport

RETRY_BATCH = 1000
WORKERS = 16
COOL_DOWN_S = 30.0
RETRY_TIMEOUT_S = 30.0  # a retry attempt's deadline unless told (settings.RETRY_TIMEOUT)
RUN_BUDGET_S = 900.0  # a retry run's, unless told (settings.JOB_TIMEOUT)


class Frozen(DeliveryError):
    """A probe that failed far later than its timeout allows (httpx bounds each phase,
    connect, write and read, by the timeout): its process was most likely frozen after the
    webhook answered, as Lambda does, so the failure says nothing about the peer."""


FROZEN_AFTER = 4  # timeouts: beyond every phase's bound together


class Bulkhead:
    """Each peer's share of the sending threads: a send to a peer that already has `share`
    sends in flight fails at once (its record stays for a later retry) instead of queueing,
    so a slow peer holds only its own share and the others' deliveries go on."""

    def __init__(self, share: int) -> None:
        self.share = share
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, peer: str) -> bool:
        with self._lock:
            busy = self._in_flight.get(peer, 0)
            if busy >= self.share:
                return False
            self._in_flight[peer] = busy + 1
            return True

    def leave(self, peer: str) -> None:
        with self._lock:
            self._in_flight[peer] -= 1


CLOSED, PROBE, OPEN = "closed", "probe", "open"


class Breaker:
    """Per peer: open (skipped inline) for `cool_down` seconds after a failure; then half-open:
    one webhook probes the peer without waiting on it, and the probe's answer closes the
    breaker or opens it for another cool-down. So a peer that stays hung costs no webhook the
    full timeout, not even one per cool-down. A probe that fails only after its process was
    frozen (see `Frozen`) gives no verdict, and one that never reports is given up after a
    cool-down: either way another webhook probes again."""

    def __init__(self, cool_down: float, now: Callable[[], float] = time.monotonic) -> None:
        self._cool_down, self._now = cool_down, now
        self._open_until: dict[str, float] = {}
        self._probing: dict[str, float] = {}  # peer -> when its probe went
        self._lock = threading.Lock()

    def state(self, peer: str) -> str:
        """CLOSED (send and wait), PROBE (this caller probes it) or OPEN (skip it)."""
        with self._lock:
            now = self._now()
            until = self._open_until.get(peer)
            if until is None:
                return CLOSED
            probing = self._probing.get(peer)
            if until > now or (probing is not None and probing + self._cool_down > now):
                return OPEN
            self._probing[peer] = now
            return PROBE

    def forget_probe(self, peer: str) -> None:
        with self._lock:
            self._probing.pop(peer, None)

    def record(self, peer: str, ok: bool) -> None:
        with self._lock:
            self._probing.pop(peer, None)
            if ok:
                self._open_until.pop(peer, None)
            else:
                self._open_until[peer] = self._now() + self._cool_down


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
        breaker: Breaker | None = None,
        store_event: Callable[[Envelope], object] | None = None,
        retry_timeout_s: float = RETRY_TIMEOUT_S,
        run_budget_s: float = RUN_BUDGET_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log or logging.getLogger("lambda")
        self.peers = tuple(peers)
        self.outbox = outbox
        self._signer = signer
        self._transport = transport
        self._clock = clock
        self._timeout = timeout_s
        # The retry job's attempts: nobody waits on them, so a peer slower than the inline
        # bound (a cold start on another cloud) is still delivered to (docs/peers.md).
        self.retry_timeout, self.run_budget = retry_timeout_s, run_budget_s
        self._monotonic = monotonic  # a retry run's budget is kept by it
        self.breaker = breaker or Breaker(COOL_DOWN_S)
        # Half the retry threads at most per peer (all of them with one peer): one slow peer
        # never holds the threads another peer's deliveries need.
        self.bulkhead = Bulkhead(WORKERS * 4 // min(2, max(1, len(self.peers))))
        self._store_event = store_event  # at the origin, if missing (see _attempt_record)
        # Separate pools: a retry run over a large backlog never delays a webhook's own sends,
        # and a retry run's records never wait for its own sends (records submit sends and wait
        # for them: on one pool, queued records would hold every worker while their sends sat
        # behind them, and a healthy peer would time out).
        self._inline = futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="fanout")
        self._records = futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="retry-record")
        self._retries = futures.ThreadPoolExecutor(WORKERS * 4, thread_name_prefix="retry")

    def _probe(self, peer: str, envelope: Envelope) -> None:
        started = time.monotonic()
        try:
            self.send(peer, envelope)
        except Exception as exc:
            took = time.monotonic() - started
            if took > FROZEN_AFTER * self._timeout:
                raise Frozen(f"{exc} (after {took:.1f} s)") from exc
            raise

    def send(self, peer: str, envelope: Envelope, timeout: float | None = None) -> None:
        """One signed delivery, within the peer's share of the threads and the timeout (the
        inline one unless told)."""
        if not self.bulkhead.enter(peer):
            raise Busy(f"{self.bulkhead.share} sends to this peer already in flight")
        try:
            body = encode(envelope)
            headers = self._signer.headers(envelope.id, body, self._clock())
            headers["traceparent"] = child_of(envelope.headers.get("traceparent", ""))
            post_timeout = self._timeout if timeout is None else timeout
            self._transport.post(f"{peer}/internal/event", body, headers, post_timeout)
        finally:
            self.bulkhead.leave(peer)

    def _attempt(
        self,
        pool: futures.ThreadPoolExecutor,
        peers: Sequence[str],
        envelope: Envelope,
        probes: Sequence[str] = (),
    ) -> dict[str, str]:
        """Send to `peers` and `probes` at once; wait for `peers` only, for the timeout at
        most (a probe counts if it answered by then; if not, its own answer goes to the
        breaker when it comes). With no other peer to wait for, a probe is waited for like
        one: on Lambda (and throttled on Cloud Run and Flex) nothing runs after the answer,
        so a probe never waited for would rarely report. Returns peer -> why failed."""
        jobs = {pool.submit(self.send, peer, envelope): peer for peer in peers}
        jobs.update({pool.submit(self._probe, peer, envelope): peer for peer in probes})
        waited = [job for job, peer in jobs.items() if peer not in probes] or list(jobs)
        futures.wait(waited, timeout=self._timeout)
        failed: dict[str, str] = {}
        for job, peer in jobs.items():
            why: str | None = f"no answer within {self._timeout} s"
            if job.done():  # (a send that answered just after the wait counts as answered)
                error = job.exception()
                why = None if error is None else str(error)
            elif job not in waited:
                job.add_done_callback(partial(self._probed, peer, envelope))
                failed[peer] = "probed after a cool-down, not waited for"
                continue
            self.breaker.record(peer, why is None)
            if why is not None:
                failed[peer] = why
        return failed

    def _probed(self, peer: str, envelope: Envelope, job: futures.Future[None]) -> None:
        error = job.exception()
        if isinstance(error, Frozen):  # no verdict: the next webhook probes again
            self.breaker.forget_probe(peer)
            return
        self.breaker.record(peer, error is None)
        if error is not None:
            self.log_failure(peer, envelope, error, 1, queued=True)

    def ahead(self, envelope: Envelope) -> Record:
        """Record the delivery to every peer (one write), before the event itself is stored."""
        return self.outbox.add(self.peers, envelope, self._clock())

    def attempt(self, record: Record) -> dict[str, bool]:
        """Attempt every peer of a just-recorded delivery whose breaker is closed, and probe
        those whose cool-down is over, for at most the timeout in all; the record goes once
        all got it, else it stays for the retries."""
        envelope = record.envelope
        states = {peer: self.breaker.state(peer) for peer in self.peers}
        ready = [peer for peer, state in states.items() if state == CLOSED]
        probes = [peer for peer, state in states.items() if state == PROBE]
        failed = self._attempt(self._inline, ready, envelope, probes)
        for peer in ready:
            if peer in failed:
                self.log_failure(peer, envelope, failed[peer], 1, queued=True)
        skipped = {p: "circuit open after a recent failure" for p, s in states.items() if s == OPEN}
        failed.update(skipped)
        if failed:
            self.outbox.keep_for_retry(record, failed)
        else:
            self.outbox.done(record)
        return {peer: peer not in failed for peer in self.peers}

    def retry(
        self,
        limit: int = RETRY_BATCH,
        budget_s: float | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, int]:
        """Attempt every due outbox record once, at each peer it is still owed to, each peer
        probed first and each attempt bounded by `timeout_s` (the retry timeout unless told);
        the run ends within `budget_s` (the job's timeout unless told). See
        functions/core/retry_run.py."""
        budget = self.run_budget if budget_s is None else budget_s
        run = RetryRun(
            self, self._clock, self._retries, self._records, budget, self._monotonic, timeout_s
        )
        return run.run(limit)

    def verdict(self, peer: str, ok: bool) -> None:
        """A retry's finding on a peer, for this instance's breaker: the webhooks served by the
        same process as the retry job (the local server, an instance that took both) skip a
        peer it found down and send again once it answers; elsewhere (a separate job function
        or instance) each instance's breaker learns from its own webhooks only."""
        self.breaker.record(peer, ok)

    def store_first(self, record: Record) -> None:
        if self._store_event is not None and not any(a.count for a in record.peers.values()):
            # Its first retry: the record is written before the event, so a webhook that died
            # between the two left it alone. Peers are owed the event: so is the origin.
            self._store_event(record.envelope)

    def log_failure(
        self, peer: str, envelope: Envelope, error: object, attempt: int, *, queued: bool
    ) -> None:
        """Once per failed attempt: which peer, which event (and its trace), why, and what
        happens next."""
        self.log.warning(
            "peer delivery failed",
            extra={
                "fields": {
                    "peer": peer,
                    "event_id": envelope.id,
                    "trace_id": trace_id_of(envelope.headers.get("traceparent")),
                    "attempt": attempt,
                    "error": str(error)[:300],
                    "next": "retry from the outbox" if queued else "dead-lettered",
                }
            },
        )
