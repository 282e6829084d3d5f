"""The outbox's schedule: when a failed delivery is tried again, when it is given up, and how
much one retry run takes on. Fake clock and in-memory store; the outbox's own port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.fanout import RETRY_BATCH
from functions.core.outbox import (
    BACKLOG_CAP,
    DEAD,
    PENDING,
    Attempts,
    Outbox,
    Record,
    due_of,
    event_id_of,
)
from functions.core.services import Services
from functions.core.settings import Settings
from tests.conftest import Captured, CoreClient
from tests.support.fakes import FakeClock, FakePeers, MemoryBlobStore

PEER = "https://peer.example"


def envelope(at: datetime) -> Envelope:
    return Envelope(uuid7(at), "s", at, "local", {"n": 1})


def pending_due(store: MemoryBlobStore) -> list[datetime]:
    return [d for k in store.list(PENDING) if (d := due_of(k)) is not None]


def test_a_failed_peer_waits_the_base_then_twice_as_long_each_time_up_to_the_cap() -> None:
    store, now = MemoryBlobStore(), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    outbox = Outbox(store, max_attempts=20, backoff=(5.0, 60.0))
    record = outbox.add((PEER,), envelope(now), now)
    assert pending_due(store) == [now + timedelta(seconds=5)]
    waits = []
    for _ in range(6):
        outbox.settle(record, {PEER: "refused"}, now)
        (record,) = outbox.due(now + timedelta(hours=1), 10)
        waits.append((record.due - now).total_seconds())
    assert waits == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0]


def test_a_record_rescheduled_to_the_instant_it_was_due_is_kept_not_deleted() -> None:
    # A retry run at the very instant the record was due, with the wait at its cap: the new
    # record has the old one's key, and writing it must not be followed by deleting it.
    store, now = MemoryBlobStore(), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    outbox = Outbox(store, max_attempts=20, backoff=(60.0, 60.0))
    record = outbox.add((PEER,), envelope(now), now)
    outbox.settle(record, {PEER: "refused"}, now)
    (again,) = outbox.due(now + timedelta(hours=1), 10)
    assert again.key == record.key
    assert again.peers[PEER].count == 1


def test_a_peer_is_dead_lettered_on_its_last_attempt_and_not_one_before() -> None:
    store, now = MemoryBlobStore(), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    outbox = Outbox(store, max_attempts=3, backoff=(1.0, 1.0))
    record = outbox.add((PEER,), envelope(now), now)
    for attempt in (1, 2):
        outcome = outbox.settle(record, {PEER: f"refused {attempt}"}, now)
        assert (outcome.dead, list(store.list(DEAD))) == ([], []), attempt
        (record,) = outbox.due(now + timedelta(hours=1), 10)
        assert record.peers[PEER].count == attempt
    outcome = outbox.settle(record, {PEER: "refused 3"}, now)
    assert outcome.dead == [PEER]
    assert list(store.list(PENDING)) == []
    (letter,) = list(store.list(DEAD))
    assert b'"last_error":"refused 3"' in store.get(letter)


def test_a_retry_run_takes_at_most_one_batch_and_the_next_run_takes_the_rest() -> None:
    # The peer answers but refuses every event (a 400), so each attempt fails at once and is
    # rescheduled past the next run. (A peer that gives no answer is probed once per run
    # instead: tests/unit/test_retry_deadline.py.)
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    peers.rejecting.add(PEER)
    settings = Settings(peer_urls=(PEER,), peer_secret="k", read_token="r")
    app = App(Services(settings, "local", lambda: store, clock, transport=lambda: peers))
    outbox = app.services.fanout().outbox
    for n in range(RETRY_BATCH + 1):
        outbox.add((PEER,), envelope(clock() + timedelta(microseconds=n)), clock())
    clock.advance(hours=1)
    assert app.jobs.retry()["attempted"] == RETRY_BATCH
    assert app.jobs.retry()["attempted"] == 1
    assert app.jobs.retry()["attempted"] == 0
    assert len(peers.calls) == RETRY_BATCH + 1
    assert len(list(store.list(PENDING))) == RETRY_BATCH + 1


def test_a_retry_run_over_a_backlog_larger_than_its_pool_delivers_every_record_to_a_healthy_peer(
    logs: Captured,
) -> None:
    # Records wait for their own sends: sharing one pool, queued records once held every worker
    # while the sends sat behind them, and a healthy peer "timed out" on 960 of 1,000.
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    settings = Settings(peer_urls=(PEER,), peer_secret="k", read_token="r", fanout_timeout_s=0.5)
    app = App(Services(settings, "local", lambda: store, clock, logs.logger, lambda: peers))
    for n in range(200):
        app.services.fanout().outbox.add(
            (PEER,), envelope(clock() + timedelta(microseconds=n)), clock()
        )
    clock.advance(hours=1)
    assert app.jobs.retry() == {"attempted": 200, "delivered": 200, "failed": 0, "dead": 0}
    assert list(store.list(PENDING)) == []


class GhostListing(MemoryBlobStore):
    """Lists one key more than it holds, first: a dead letter another run requeued between
    this run's listing and its read."""

    def list(self, prefix: str) -> Iterator[str]:
        if prefix == DEAD:
            yield f"{DEAD}peer=0000000000000000/already-gone.json"
        yield from super().list(prefix)


def test_requeue_moves_every_dead_letter_skips_one_that_vanished_and_counts_them() -> None:
    store, now = GhostListing(), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    outbox = Outbox(store, max_attempts=1, backoff=(1.0, 1.0))
    for n in range(3):
        record = outbox.add((PEER,), envelope(now + timedelta(seconds=n)), now)
        outbox.settle(record, {PEER: "refused"}, now)
    assert outbox.requeue(now) == 3
    assert [k for k in store.list(DEAD) if "already-gone" not in k] == []
    assert len(outbox.due(now, 10)) == 3


def test_requeue_without_peers_configured_requeues_nothing() -> None:
    settings = Settings(retry_token="tok", read_token="r")
    client = CoreClient(App(Services(settings, "local", MemoryBlobStore, FakeClock())))
    answer = client.request(
        "POST", "/internal/outbox/requeue", b"", {"authorization": "Bearer tok"}
    )
    assert answer[:2] == (200, {"requeued": 0})


def test_the_peers_backlog_counts_at_most_the_cap_and_each_peer_its_own() -> None:
    # GIVEN more pending records than /peers counts, owed to the first peer or to both
    store, now = MemoryBlobStore(), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    outbox, other = Outbox(store, 12, (5.0, 600.0)), "https://other.example"
    keys = []
    for n in range(BACKLOG_CAP + 5):
        record_peers = (PEER, other) if n % 2 else (PEER,)
        at = now + timedelta(microseconds=n)
        keys.append(Record(envelope(at), at, {p: Attempts() for p in record_peers}).key)
        store.put(keys[-1], b"{}")
    # THEN the first BACKLOG_CAP keys are counted, per peer, and no more: each count says it
    # is a floor
    assert outbox.backlog((PEER, other)) == {
        PEER: {"pending": BACKLOG_CAP, "dead": 0, "capped": True},
        other: {"pending": BACKLOG_CAP // 2, "dead": 0, "capped": True},
    }
    # AND an event past the cap is "unknown", neither pending nor (wrongly) delivered
    last = event_id_of(sorted(keys)[-1])  # owed to PEER alone, listed past the cap
    assert outbox.delivery_state(last, (PEER, other)) == {PEER: "unknown", other: "unknown"}


def test_a_backlog_within_the_cap_is_counted_exactly_and_not_marked_capped() -> None:
    store, now = MemoryBlobStore(), datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    outbox, other = Outbox(store, 12, (5.0, 600.0)), "https://other.example"
    for n in range(BACKLOG_CAP):
        at = now + timedelta(microseconds=n)
        store.put(Record(envelope(at), at, {PEER: Attempts()}).key, b"{}")
    assert outbox.backlog((PEER, other)) == {
        PEER: {"pending": BACKLOG_CAP, "dead": 0},
        other: {"pending": 0, "dead": 0},
    }
    gone = envelope(now - timedelta(hours=1)).id  # owed to nobody: delivered
    assert outbox.delivery_state(gone, (PEER, other)) == {PEER: "delivered", other: "delivered"}
