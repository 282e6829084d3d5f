"""What fan-out costs the origin: storage requests per webhook, retry runs that read only what
is due, a bound that holds whatever the backlog, and a breaker that stops paying for a hung
peer. The hung peer is a fake that blocks until released: the code's own timeout ends the wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.fanout import Breaker
from functions.core.outbox import Outbox
from functions.core.services import Services
from functions.core.settings import Settings
from tests.conftest import READ_TOKEN, Captured, CoreClient
from tests.support.fakes import CountingStore, FakeClock, FakePeers

PEERS = ("https://peer-a.example", "https://peer-b.example")


@pytest.fixture
def peers() -> FakePeers:
    fake = FakePeers()  # no secret: these tests count requests, not signatures
    yield fake
    fake.release.set()


def app_with(
    store: CountingStore,
    peers: FakePeers,
    clock: FakeClock,
    timeout: float = 0.2,
    logs: Captured | None = None,
    peer_urls: tuple[str, ...] = PEERS,
) -> App:
    settings = Settings(
        peer_urls=peer_urls,
        peer_secret="k",
        read_token=READ_TOKEN,
        fanout_timeout_s=timeout,
        outbox_backoff_s=(10.0, 60.0),
    )
    logger = logs.logger if logs else None
    return App(Services(settings, "local", lambda: store, clock, logger, transport=lambda: peers))


def until(condition: Callable[[], bool]) -> None:
    """Waits (30 s at most) for something another thread does."""
    deadline = time.monotonic() + 30
    while not (met := condition()) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert met


@pytest.mark.parametrize(
    ("peer_urls", "idempotency", "puts"),
    [((), False, 1), (PEERS, False, 2), ((), True, 2), (PEERS, True, 3)],
)
def test_storage_writes_per_webhook(
    peers: FakePeers, peer_urls: tuple[str, ...], idempotency: bool, puts: int
) -> None:
    store, clock = CountingStore(), FakeClock(datetime.now(UTC).replace(minute=30))
    settings = Settings(peer_urls=peer_urls, peer_secret="k", read_token=READ_TOKEN)
    client = CoreClient(
        App(Services(settings, "local", lambda: store, clock, transport=lambda: peers))
    )
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


def test_peers_backlog_counts_a_record_being_rescheduled_once() -> None:
    # GIVEN a record whose retry failed: its new key is written before its old one goes
    store, now = CountingStore(), datetime.now(UTC)
    outbox = Outbox(store, 12, (5.0, 600.0))
    record = outbox.add(PEERS, Envelope(uuid7(now), "s", now, "x", {}), now)
    store.put(replace(record, due=now + timedelta(minutes=1)).key, record.encode())
    # WHEN /peers counts in between, THEN the event is pending once per peer
    assert len(list(store.list("outbox/"))) == 2
    assert outbox.backlog(PEERS) == {url: {"pending": 1, "dead": 0} for url in PEERS}


def test_the_bound_holds_with_a_hung_peer_and_a_retry_run_over_a_backlog(peers: FakePeers) -> None:
    # GIVEN a hung peer and a backlog of 300 due records a retry run is working through
    store, clock = CountingStore(), FakeClock(datetime.now(UTC))
    peers.hung.add(PEERS[1])
    app = app_with(store, peers, clock)
    for n in range(300):
        app.services.fanout().outbox.add(
            PEERS,
            Envelope(uuid7(clock()), "s", clock(), "x", {"n": n}),
            clock() - timedelta(minutes=1),
        )
    retry = threading.Thread(target=app.jobs.retry, daemon=True)
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
    app.services.fanout().breaker = Breaker(30.0, now=lambda: now[0])
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
    # AND after the cool-down the next webhook probes it again (no longer hung); once the
    # probe has landed, webhooks deliver to both peers
    now[0] = 31.0
    peers.hung.clear()
    client.webhook("s", {"n": 9})
    until(lambda: peers.calls.count(PEERS[1]) == 2)  # the probe is not waited for
    until(lambda: any(peer == PEERS[1] for peer, _ in peers.delivered))
    until(lambda: app.services.fanout().breaker.state(PEERS[1]) == "closed")
    assert client.webhook("s", {"n": 10})[1]["fanout"] == {"delivered": 2, "queued": 0}


def opened(peers: FakePeers, logs: Captured, timeout: float) -> tuple[App, list[float]]:
    """An app whose breaker for the second peer opened at t=0 (its clock is the list's)."""
    now = [0.0]
    app = app_with(CountingStore(), peers, FakeClock(datetime.now(UTC)), timeout, logs)
    app.services.fanout().breaker = Breaker(30.0, now=lambda: now[0])
    app.services.fanout().breaker.record(PEERS[1], ok=False)
    return app, now


def cooled_down_and_hung(
    peers: FakePeers, logs: Captured, timeout: float
) -> tuple[App, list[float]]:
    """The same, at t=31 (the cool-down over), with the second peer still hung."""
    app, now = opened(peers, logs, timeout)
    peers.hung.add(PEERS[1])
    now[0] = 31.0
    return app, now


def probe_out(app: App, peers: FakePeers) -> CoreClient:
    """A webhook that probes the second peer; returns once the probe has gone out."""
    client = CoreClient(app)
    client.webhook("s", {"n": 1})
    until(lambda: peers.calls.count(PEERS[1]) == 1)
    return client


def open_then_probed_again(
    app: App,
    client: CoreClient,
    peers: FakePeers,
    now: list[float],
    still_open_at: float,
    probed_at: float,
) -> None:
    """The second peer is skipped at `still_open_at`, and probed a second time by a webhook at
    `probed_at`."""
    now[0] = still_open_at
    assert app.services.fanout().breaker.state(PEERS[1]) == "open"
    now[0] = probed_at
    client.webhook("s", {"n": 9})
    until(lambda: peers.calls.count(PEERS[1]) == 2)


def test_after_the_cool_down_a_webhook_probes_a_hung_peer_without_waiting_for_it(
    peers: FakePeers, logs: Captured
) -> None:
    # GIVEN a hung peer whose breaker has cooled down, and a bound of 5 s
    app, now = cooled_down_and_hung(peers, logs, timeout=5.0)
    client = CoreClient(app)
    # WHEN a webhook comes, THEN it probes the peer and answers without waiting on it
    started = time.perf_counter()
    status, body, _ = client.webhook("s", {"n": 1})
    assert time.perf_counter() - started < 2.5, "the webhook waited on the probe"
    assert (status, body["fanout"]) == (201, {"delivered": 1, "queued": 1})
    until(lambda: peers.calls.count(PEERS[1]) == 1)
    # AND while the probe is out, other webhooks skip the peer
    assert app.services.fanout().breaker.state(PEERS[1]) == "open"
    assert client.webhook("s", {"n": 2})[1]["fanout"] == {"delivered": 1, "queued": 1}
    # WHEN the probe fails (at t=40), THEN the breaker opens from then: skipped at t=65,
    # probed again at t=71
    now[0] = 40.0
    peers.release.set()
    until(lambda: any(line.get("error") == "released by the test" for line in logs.lines()))
    open_then_probed_again(app, client, peers, now, still_open_at=65.0, probed_at=71.0)


def test_a_probe_that_never_reports_is_given_up_after_a_cool_down(
    peers: FakePeers, logs: Captured
) -> None:
    app, now = cooled_down_and_hung(peers, logs, timeout=5.0)
    client = probe_out(app, peers)  # held by the fake until the test ends
    open_then_probed_again(app, client, peers, now, still_open_at=60.0, probed_at=62.0)


def test_a_probe_that_fails_only_after_a_freeze_gives_no_verdict(
    peers: FakePeers, logs: Captured
) -> None:
    # GIVEN a probe out to a hung peer (bound 0.2 s), not waited for
    app, _now = cooled_down_and_hung(peers, logs, timeout=0.2)
    probe_out(app, peers)
    # WHEN it fails only after far longer than its bound allows (as when Lambda froze the
    # process after the webhook answered and thawed it for a later one)
    time.sleep(4 * 0.2 + 0.2)
    peers.release.set()
    # THEN that failure opens nothing: the next webhook may probe at once
    until(lambda: app.services.fanout().breaker.state(PEERS[1]) == "probe")
    assert not any(line.get("error") == "released by the test" for line in logs.lines())


def test_with_no_other_peer_to_wait_for_the_probe_is_waited_for(peers: FakePeers) -> None:
    # GIVEN one peer only, whose breaker opened and has cooled down
    now = [0.0]
    app = app_with(CountingStore(), peers, FakeClock(datetime.now(UTC)), peer_urls=PEERS[1:])
    app.services.fanout().breaker = Breaker(30.0, now=lambda: now[0])
    app.services.fanout().breaker.record(PEERS[1], ok=False)
    now[0] = 31.0
    client = CoreClient(app)
    # WHEN it is still hung, THEN the probing webhook waits the bound out (nothing else would
    # hear the probe's answer where nothing runs after a response), and queues the event
    peers.hung.add(PEERS[1])
    started = time.perf_counter()
    assert client.webhook("s", {"n": 1})[1]["fanout"] == {"delivered": 0, "queued": 1}
    assert time.perf_counter() - started >= 0.2
    # AND once it is back, the next probe delivers, and the breaker is closed
    peers.release.set()
    peers.hung.clear()
    now[0] = 62.0
    assert client.webhook("s", {"n": 2})[1]["fanout"] == {"delivered": 1, "queued": 0}
    assert app.services.fanout().breaker.state(PEERS[1]) == "closed"
