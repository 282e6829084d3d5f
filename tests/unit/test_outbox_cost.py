"""What fan-out costs the origin: storage requests per webhook, retry runs that read only what
is due, a bound that holds whatever the backlog, and a breaker that stops paying for a hung
peer. The hung peer is a fake that blocks until released: the code's own timeout ends the wait."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.fanout import Breaker
from functions.core.outbox import Outbox
from functions.core.settings import Settings
from tests.conftest import READ_TOKEN, CoreClient
from tests.support.fakes import CountingStore, FakeClock, FakePeers

PEERS = ("https://peer-a.example", "https://peer-b.example")


@pytest.fixture
def peers() -> FakePeers:
    fake = FakePeers()  # no secret: these tests count requests, not signatures
    yield fake
    fake.release.set()


def app_with(store: CountingStore, peers: FakePeers, clock: FakeClock, timeout: float = 0.2) -> App:
    settings = Settings(
        peer_urls=PEERS,
        peer_secret="k",
        read_token=READ_TOKEN,
        fanout_timeout_s=timeout,
        outbox_backoff_s=(10.0, 60.0),
    )
    return App(settings, "local", lambda: store, clock, transport=lambda: peers)


@pytest.mark.parametrize(
    ("peer_urls", "idempotency", "puts"),
    [((), False, 1), (PEERS, False, 2), ((), True, 2), (PEERS, True, 3)],
)
def test_storage_writes_per_webhook(
    peers: FakePeers, peer_urls: tuple[str, ...], idempotency: bool, puts: int
) -> None:
    store, clock = CountingStore(), FakeClock(datetime.now(UTC).replace(minute=30))
    settings = Settings(peer_urls=peer_urls, peer_secret="k", read_token=READ_TOKEN)
    client = CoreClient(App(settings, "local", lambda: store, clock, transport=lambda: peers))
    client.webhook("s", {"warm": True})  # the hour index's once-per-instance put
    store.reset()
    headers = {"idempotency_key": "delivery-1"} if idempotency else {}
    assert client.webhook("s", {"n": 1}, **headers)[0] == 201
    assert store.counts["put"] == puts
    # The outbox record is deleted once both peers acknowledged: deletes are not billed.
    assert store.counts["delete"] == (1 if peer_urls else 0)


def test_a_retry_run_reads_only_the_records_that_are_due(peers: FakePeers) -> None:
    # GIVEN a backlog of 1,000 records of which 10 are due
    store, now = CountingStore(), datetime.now(UTC)
    outbox = Outbox(store, 12, (5.0, 600.0))
    for n in range(1000):
        at = now - timedelta(seconds=60) if n < 10 else now + timedelta(hours=1)
        outbox.add(
            PEERS, Envelope(uuid7(at), "s", at, "local", {"n": n}), at - timedelta(seconds=5)
        )
    store.reset()
    # WHEN a retry run looks for due records
    due = outbox.due(now, 1000)
    # THEN it read 10 records and listed one key past them
    assert len(due) == 10
    assert (store.counts["get"], store.counts["listed"]) == (10, 11)


def test_peers_backlog_is_counted_from_keys_without_reading_records() -> None:
    store, now = CountingStore(), datetime.now(UTC)
    outbox = Outbox(store, 12, (5.0, 600.0))
    for n in range(50):
        outbox.add(PEERS[:1] if n % 2 else PEERS, Envelope(uuid7(now), "s", now, "x", {}), now)
    store.reset()
    backlog = outbox.backlog(PEERS)
    assert backlog == {PEERS[0]: {"pending": 50, "dead": 0}, PEERS[1]: {"pending": 25, "dead": 0}}
    assert store.counts["get"] == 0


def test_the_bound_holds_with_a_hung_peer_and_a_retry_run_over_a_backlog(peers: FakePeers) -> None:
    # GIVEN a hung peer and a backlog of 300 due records a retry run is working through
    store, clock = CountingStore(), FakeClock(datetime.now(UTC))
    peers.hung.add(PEERS[1])
    app = app_with(store, peers, clock)
    for n in range(300):
        app.fanout().outbox.add(
            PEERS,
            Envelope(uuid7(clock()), "s", clock(), "x", {"n": n}),
            clock() - timedelta(minutes=1),
        )
    retry = threading.Thread(target=app.retry_outbox, daemon=True)
    retry.start()
    deadline = time.monotonic() + 30  # until the retry run is held by the hung peer
    while PEERS[1] not in peers.calls and time.monotonic() < deadline:
        time.sleep(0.001)
    assert PEERS[1] in peers.calls
    # WHEN webhooks arrive meanwhile, THEN each answers within the bound
    client = CoreClient(app)
    for _ in range(5):
        started = time.perf_counter()
        assert client.webhook("s", {})[0] == 201
        assert time.perf_counter() - started < 0.2 + 0.3
    peers.release.set()
    retry.join(30)


def test_a_failed_peer_is_skipped_inline_for_a_cool_down_and_tried_again_after(
    peers: FakePeers,
) -> None:
    store, clock = CountingStore(), FakeClock(datetime.now(UTC))
    now = [0.0]
    app = app_with(store, peers, clock)
    app.fanout().breaker = Breaker(30.0, now=lambda: now[0])
    peers.hung.add(PEERS[1])
    client = CoreClient(app)
    # GIVEN a first webhook that waited the bound out on the hung peer
    assert client.webhook("s", {"n": 0})[1]["fanout"] == {"delivered": 1, "queued": 1}
    assert peers.calls.count(PEERS[1]) == 1
    # WHEN more arrive within the cool-down, THEN they do not call it and do not wait
    started = time.perf_counter()
    for n in range(1, 6):
        assert client.webhook("s", {"n": n})[1]["fanout"] == {"delivered": 1, "queued": 1}
    assert time.perf_counter() - started < 0.25
    assert peers.calls.count(PEERS[1]) == 1
    # AND after the cool-down the next webhook tries it again
    now[0] = 31.0
    peers.hung.clear()
    assert client.webhook("s", {"n": 9})[1]["fanout"] == {"delivered": 2, "queued": 0}
    assert peers.calls.count(PEERS[1]) == 2
