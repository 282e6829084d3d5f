"""One run of the outbox retry job (`FanOut.retry`). Nobody waits on it, so each attempt has
the retry job's own deadline (`LAMBDA_RETRY_TIMEOUT`), not the webhook's. Each peer owed
anything is probed first, with the oldest due record owed to it; a peer that gives no answer
has its other records left queued, unread and uncharged, for a later run's probe; the others
get theirs concurrently, each peer within its share of the threads. No record starts that
could not end within the run's budget. See docs/peers.md (retries).
"""

from __future__ import annotations

import concurrent.futures as futures
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from functions.core.events import Envelope
from functions.core.outbox import Outbox, Record, peer_id, pending_peers_of
from functions.core.ports import Clock
from functions.core.transport import Busy, Unreachable

MARGIN_S = 30.0  # of a run's budget (a tenth at most) kept for the last records' writes


def probe_keys(keys: Iterable[str]) -> list[str]:
    """The first key naming each peer, in order: one key may probe several peers."""
    covered: set[str] = set()
    probes = []
    for key in keys:
        peers = set(pending_peers_of(key))
        if peers - covered:
            probes.append(key)
            covered |= peers
    return probes


class Sender(Protocol):
    """What a run needs of the fan-out (functions/core/fanout.py)."""

    outbox: Outbox
    retry_timeout: float

    def send(self, peer: str, envelope: Envelope, timeout: float | None = None) -> None: ...
    def store_first(self, record: Record) -> None: ...
    def verdict(self, peer: str, ok: bool) -> None: ...
    def log_failure(
        self, peer: str, envelope: Envelope, error: object, attempt: int, *, queued: bool
    ) -> None: ...


class RetryRun:
    """One pass over the due records. `sends` runs the deliveries, `records` the records
    (apart: a record waits for its own sends); `budget_s` bounds the run."""

    def __init__(
        self,
        fanout: Sender,
        clock: Clock,
        sends: futures.ThreadPoolExecutor,
        records: futures.ThreadPoolExecutor,
        budget_s: float,
    ) -> None:
        self._fanout, self._clock = fanout, clock
        self._sends, self._records = sends, records
        self._timeout = fanout.retry_timeout
        # The last moment a record may start: its sends end by the timeout, its writes after.
        margin = min(MARGIN_S, budget_s / 10)
        self._start_by = time.monotonic() + budget_s - self._timeout - margin
        self._down: set[str] = set()  # ids of the peers that gave no answer in this run
        self._lock = threading.Lock()
        self._read, self._limit = 0, 0
        self._tally: Counter[str] = Counter(attempted=0, delivered=0, failed=0, dead=0)

    def run(self, limit: int) -> dict[str, int]:
        """Probes first (one wait at most, however many records a hung peer is owed), then
        the rest; `limit` records read at most. Returns the counts of peer deliveries:
        attempted, delivered, failed, dead, and deferred (left, uncharged) when any."""
        self._limit = limit
        keys = list(self._fanout.outbox.due_keys(self._clock()))
        probes = probe_keys(keys)
        self._each(probes)
        probed = set(probes)
        self._each(key for key in keys if key not in probed)
        result = dict(self._tally)
        if not result.get("deferred"):
            result.pop("deferred", None)
        return result

    def _each(self, keys: Iterable[str]) -> None:
        """`keys` through the records' pool; a record that failed (its store failing) fails
        the run, but only once every other has settled: none is left running once the run
        has released its lease."""
        jobs = [self._records.submit(self._one, key) for key in keys]
        futures.wait(jobs)
        for job in jobs:
            job.result()

    def _one(self, key: str) -> None:
        if not self._starts(key):
            return
        record = self._fanout.outbox.read(key)
        if record is not None:
            self._deliver(record)

    def _starts(self, key: str) -> bool:
        """Whether this run takes `key` on: not when every peer it names gave no answer in
        this run or the budget has no room left (deferred, uncharged), nor past the limit."""
        peers = pending_peers_of(key)
        with self._lock:
            down = bool(peers) and all(peer in self._down for peer in peers)
            if down or time.monotonic() > self._start_by:
                self._tally["deferred"] += len(peers)
                return False
            if self._read >= self._limit:
                return False
            self._read += 1
            return True

    def _deliver(self, record: Record) -> None:
        fanout = self._fanout
        fanout.store_first(record)
        with self._lock:
            down = {url for url in record.peers if peer_id(url) in self._down}
        errors = self._send(sorted(set(record.peers) - down), record.envelope)
        busy = {peer for peer, error in errors.items() if isinstance(error, Busy)}
        failed = {p: str(e) for p, e in errors.items() if e is not None and p not in busy}
        outcome = fanout.outbox.settle(record, failed, self._clock(), deferred=down | busy)
        with self._lock:
            self._tally.update(
                attempted=len(errors) - len(busy),
                delivered=len(outcome.delivered),
                failed=len(outcome.failed),
                dead=len(outcome.dead),
                deferred=len(outcome.deferred),
            )
        for peer, why in failed.items():
            attempt = record.peers[peer].count + 2  # the inline attempt was the first
            queued = peer not in outcome.dead
            fanout.log_failure(peer, record.envelope, why, attempt, queued=queued)

    def _send(self, peers: Sequence[str], envelope: Envelope) -> dict[str, BaseException | None]:
        """Peer -> the error of its delivery (None: acknowledged), each waited for up to the
        retry timeout; a peer that gave no answer is down for the rest of the run."""
        send = self._fanout.send
        jobs = {self._sends.submit(send, peer, envelope, self._timeout): peer for peer in peers}
        futures.wait(jobs, timeout=self._timeout)
        errors: dict[str, BaseException | None] = {}
        for job, peer in jobs.items():
            done = job.done()  # (a send that answered just after the wait counts as answered)
            error = job.exception() if done else Unreachable(f"no answer within {self._timeout} s")
            errors[peer] = error
            if error is None or isinstance(error, Unreachable):
                self._fanout.verdict(peer, error is None)
            if isinstance(error, Unreachable):
                with self._lock:
                    self._down.add(peer_id(peer))
        return errors
