"""One run of the outbox retry job (`FanOut.retry`). Nobody waits on it, so each attempt has
the retry job's own deadline (`LAMBDA_RETRY_TIMEOUT`), not the webhook's. Each peer owed
anything is probed first, with the oldest due record owed to it that can really be sent; a
peer whose probe gets no answer is sent nothing more in the run, and its other records are
charged the failed attempt (no send) and move back by the backoff, as if each had waited it
out; the others get theirs concurrently, each peer within its share of the threads. A peer that
answered its probe but later gives no answer (429 at its concurrency limit, a 5xx, a timeout)
is only paused: that send is charged, its records not yet started stay due, uncharged. A run
with a deadline shorter than the job's own (the HTTP route's nudge) judges no peer that is
only late: it is paused, never charged; one that refuses or fails is judged as ever. No record
starts that could not end within the run's budget. See docs/peers.md (retries).
"""

from __future__ import annotations

import concurrent.futures as futures
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Protocol

from functions.core.events import Envelope
from functions.core.outbox import Outbox, Record, peer_id, pending_peers_of
from functions.core.ports import Clock
from functions.core.transport import Busy, Late, Unreachable

MARGIN_S = 30.0  # of a run's budget (a tenth at most) kept for the last records' writes


def probe_keys(keys: Iterable[str], probed: Collection[str] = ()) -> list[str]:
    """The first key naming each peer not yet `probed`, in order: one key may probe several."""
    covered = set(probed)
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
    (apart: a record waits for its own sends); `budget_s` bounds the run, as `monotonic`
    tells time; each send waits `timeout_s` at most (the retry job's deadline unless told)."""

    def __init__(
        self,
        fanout: Sender,
        clock: Clock,
        sends: futures.ThreadPoolExecutor,
        records: futures.ThreadPoolExecutor,
        budget_s: float,
        monotonic: Callable[[], float] = time.monotonic,
        timeout_s: float | None = None,
    ) -> None:
        self._fanout, self._clock, self._monotonic = fanout, clock, monotonic
        self._sends, self._records = sends, records
        self._timeout = fanout.retry_timeout if timeout_s is None else timeout_s
        # The last moment a record may start: its sends end by the timeout, its writes after.
        margin = min(MARGIN_S, budget_s / 10)
        self._start_by = monotonic() + budget_s - self._timeout - margin
        # A run with the job's own deadline judges peers; a shorter one (a nudge) does not.
        self._judges = self._timeout >= fanout.retry_timeout
        self._down: dict[str, str] = {}  # peer id -> why its probe gave no answer in this run
        self._paused: set[str] = set()  # ids of peers sent nothing more, their records uncharged
        self._probed: set[str] = set()  # ids of the peers a send really went to in this run
        self._lock = threading.Lock()
        self._read, self._limit = 0, 0
        self._tally: Counter[str] = Counter(attempted=0, delivered=0, failed=0, dead=0)

    def run(self, limit: int) -> dict[str, int]:
        """Probes first (one wait at most, however many records a hung peer is owed), then
        the rest; `limit` records read at most. Returns the counts of peer deliveries:
        attempted (sent), delivered, failed (charged, sent or not), dead, and deferred (left
        due, uncharged: no room in the run's budget, or the peer's share busy) when any."""
        self._limit = limit
        keys = list(self._fanout.outbox.due_keys(self._clock()))
        done = self._probe(keys)
        self._each(key for key in keys if key not in done)
        result = dict(self._tally)
        if not result.get("deferred"):
            result.pop("deferred", None)
        return result

    def _probe(self, keys: list[str]) -> set[str]:
        """Rounds of probes until every peer named has been sent one: a probe whose record is
        gone or damaged, or whose send was turned away (busy), sent nothing, so the peer's
        next key probes it in the next round. Returns the keys taken."""
        done: set[str] = set()
        left = keys
        while True:
            left = [k for k in left if k not in done]
            probes = probe_keys(left, self._probed)
            read = self._read
            self._each(probes)
            done.update(probes)
            if not probes or self._read == read:  # all probed, or no room left in the run
                return done

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
        """Whether this run takes `key` on: not when the budget has no room left (deferred,
        uncharged), nor past the limit."""
        with self._lock:
            if self._monotonic() > self._start_by:
                self._tally["deferred"] += len(pending_peers_of(key))
                return False
            if self._read >= self._limit:
                return False
            self._read += 1
            return True

    def _deliver(self, record: Record) -> None:
        fanout = self._fanout
        fanout.store_first(record)
        with self._lock:
            down = {
                url: self._down[peer_id(url)] for url in record.peers if peer_id(url) in self._down
            }
            paused = {url for url in record.peers if peer_id(url) in self._paused} - set(down)
        errors = self._send(sorted(set(record.peers) - set(down) - paused), record.envelope)
        busy = {peer for peer, error in errors.items() if isinstance(error, Busy)}
        sent = len(errors) - len(busy)
        if not self._judges:  # a nudge's short deadline proves nothing against a late peer
            busy |= {peer for peer, error in errors.items() if isinstance(error, Late)}
        failed = {p: str(e) for p, e in errors.items() if e is not None and p not in busy}
        # A peer that gave no answer this run: charged as if sent, without the wait.
        failed |= {url: f"peer unreachable this run: {why}" for url, why in down.items()}
        outcome = fanout.outbox.settle(record, failed, self._clock(), deferred=busy | paused)
        with self._lock:
            self._tally.update(
                attempted=sent,
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
        retry timeout; a peer sent to is probed, and one that gave no answer is down for the
        rest of the run (its verdict, either way, goes to the breaker)."""
        send = self._fanout.send
        jobs = {self._sends.submit(send, peer, envelope, self._timeout): peer for peer in peers}
        futures.wait(jobs, timeout=self._timeout)
        errors: dict[str, BaseException | None] = {}
        for job, peer in jobs.items():
            done = job.done()  # (a send that answered just after the wait counts as answered)
            error = job.exception() if done else Late(f"no answer within {self._timeout} s")
            errors[peer] = error
            if isinstance(error, Busy):
                continue
            with self._lock:
                probe = peer_id(peer) not in self._probed
                self._probed.add(peer_id(peer))
                if isinstance(error, Unreachable):
                    self._judge(peer_id(peer), error, probe=probe)
            if error is None or (isinstance(error, Unreachable) and not self._inconclusive(error)):
                self._fanout.verdict(peer, error is None)
        return errors

    def _inconclusive(self, error: BaseException) -> bool:
        """Late against a nudge's short deadline: nothing said about the peer."""
        return not self._judges and isinstance(error, Late)

    def _judge(self, peer: str, error: Unreachable, *, probe: bool) -> None:
        """A peer without an answer: down for the run when it was its probe and the failure
        says so (its other records charged unsent), else paused (left due, uncharged)."""
        if probe and not self._inconclusive(error):
            self._down.setdefault(peer, str(error)[:200])
        elif peer not in self._down:
            self._paused.add(peer)
