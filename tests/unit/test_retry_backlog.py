"""The retry job over a down peer's backlog (fakes: FakePeers refuses a `down` peer at once,
as a closed port does): the down peer's records are charged the attempt its probe failed, with
no send, and move back by the backoff, so nothing queued behind them starves and a peer gone
for good reaches the dead letter on the schedule; a probe that sent nothing is taken again
from the peer's next record. See docs/peers.md (retries)."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.fanout import RETRY_BATCH, Breaker, Bulkhead
from functions.core.outbox import DEAD, PENDING, SCAN_CAP
from functions.core.services import Services
from functions.core.settings import Settings
from tests.support.client import CoreClient
from tests.support.fakes import Elapsed, FakeClock, FakePeers, MemoryBlobStore

DOWN, HEALTHY, HUNG = "https://down.example", "https://healthy.example", "https://hung.example"


def origin(
    store: MemoryBlobStore, clock: FakeClock, peers: FakePeers, *urls: str, **more: object
) -> App:
    settings = Settings(peer_urls=urls, peer_secret="k", read_token="r", **more)  # type: ignore[arg-type]
    return App(Services(settings, "local", lambda: store, clock, transport=lambda: peers))


def owe(app: App, clock: FakeClock, urls: tuple[str, ...], count: int) -> list[str]:
    """`count` events owed to `urls` (their inline attempts missed), a microsecond apart."""
    outbox, ids = app.services.outbox(), []
    for n in range(count):
        at = clock() + timedelta(microseconds=n)
        event = Envelope(uuid7(at), "s", at, "local", {"n": n})
        outbox.add(urls, event, clock())
        ids.append(event.id)
    return ids


def attempts(store: MemoryBlobStore, url: str) -> list[int]:
    return [json.loads(store.objects[k])["peers"][url]["attempts"] for k in store.list(PENDING)]


def test_a_healthy_peer_is_not_starved_behind_a_down_peers_backlog() -> None:
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    peers.down.add(DOWN)
    app = origin(store, clock, peers, DOWN, HEALTHY)
    # GIVEN an outage's backlog owed to DOWN alone, more than a run lists (SCAN_CAP)
    owe(app, clock, (DOWN,), SCAN_CAP + 20)
    # AND, a little later, one event whose inline delivery to HEALTHY missed (a blip)
    clock.advance(seconds=1)
    (late,) = owe(app, clock, (HEALTHY,), 1)
    # WHEN retry runs go, an hour apart, with DOWN still down
    runs = math.ceil((SCAN_CAP + 21) / RETRY_BATCH)  # each moves a batch of DOWN's back
    for _ in range(runs):
        clock.advance(hours=1)
        app.jobs.retry()
    # THEN the healthy peer got its event as soon as the batches reached it
    assert (HEALTHY, late) in peers.delivered
    # AND DOWN was sent one probe a run, nothing more; each of its records charged, none
    # more than twice (the last run reached the first batch again, due back after 10 s)
    assert peers.calls.count(DOWN) == runs
    assert set(attempts(store, DOWN)) == {1, 2}


def test_a_peer_gone_for_good_reaches_the_dead_letter_on_schedule_while_events_arrive() -> None:
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    peers.down.add(DOWN)
    app = origin(store, clock, peers, DOWN)  # 12 attempts, backoff 5 s .. 600 s
    client = CoreClient(app)
    # WHEN a webhook a minute comes for three hours, and the retry job runs every minute
    for _ in range(180):
        client.webhook("s", {})
        clock.advance(minutes=1)
        app.jobs.retry()
    # THEN each event is dead-lettered about an hour after it came (the backoff's sum,
    # 5 + 10 + ... + 320 + 5 x 600 s = 3,635 s, rounded up to whole runs): the backlog stays
    # bounded instead of growing by a webhook a minute
    pending, dead = len(list(store.list(PENDING))), len(list(store.list(DEAD)))
    assert pending + dead == 180
    assert 55 <= pending <= 70, (pending, dead)
    # AND the peer was sent one probe a run (and no webhook waited on it: its breaker open)
    assert peers.calls.count(DOWN) <= 180 + 180 // 30 + 1


def test_a_retry_run_tells_the_breaker_what_it_found() -> None:
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    app = origin(store, clock, peers, DOWN)
    now = [0.0]
    fanout = app.services.fanout()
    assert fanout is not None
    fanout.breaker = Breaker(30.0, now=lambda: now[0])
    owe(app, clock, (DOWN,), 2)
    # WHEN a run finds the peer down, THEN the webhooks of this instance skip it
    peers.down.add(DOWN)
    clock.advance(minutes=1)
    app.jobs.retry()
    assert fanout.breaker.state(DOWN) == "open"
    # AND when a later run (within the cool-down) gets through, they send to it again
    peers.down.clear()
    now[0] = 1.0
    clock.advance(minutes=1)
    assert app.jobs.retry()["delivered"] == 2
    assert fanout.breaker.state(DOWN) == "closed"


def retry_against_hung(app: App, clock: FakeClock, peers: FakePeers) -> dict[str, int]:
    """A retry run a minute on, the hung peer released afterwards however the run ended."""
    clock.advance(minutes=1)
    try:
        return app.jobs.retry()
    finally:
        peers.release.set()


def test_a_damaged_probe_record_does_not_let_a_hung_peer_be_sent_many() -> None:
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    peers.hung.add(HUNG)
    app = origin(store, clock, peers, HUNG, retry_timeout_s=0.3)
    owe(app, clock, (HUNG,), 40)
    first = next(iter(store.list(PENDING)))
    store.objects[first] = b"{damaged"
    result = retry_against_hung(app, clock, peers)
    # THEN the next record probed it: one send, one wait; the other 38 charged unsent
    assert peers.calls == [HUNG]
    assert (result["attempted"], result["failed"]) == (1, 39)
    assert attempts(store, HUNG) == [1] * 39


class TurnsAwayFirst(Bulkhead):
    """A bulkhead whose first send is turned away, as when the peer's share is in flight."""

    def __init__(self, share: int) -> None:
        super().__init__(share)
        self.turned_away = 0

    def enter(self, peer: str) -> bool:
        if not self.turned_away:
            self.turned_away += 1
            return False
        return super().enter(peer)


def test_a_probe_turned_away_busy_is_taken_again_from_the_next_record() -> None:
    store, clock, peers = MemoryBlobStore(), FakeClock(), FakePeers()
    peers.hung.add(HUNG)
    app = origin(store, clock, peers, HUNG, retry_timeout_s=0.3)
    fanout = app.services.fanout()
    assert fanout is not None
    fanout.bulkhead = TurnsAwayFirst(fanout.bulkhead.share)
    owe(app, clock, (HUNG,), 40)
    first = next(iter(store.list(PENDING)))
    result = retry_against_hung(app, clock, peers)
    # THEN the second record probed it (one send); the first stays due, uncharged
    assert peers.calls == [HUNG]
    assert result == {"attempted": 1, "delivered": 0, "failed": 39, "dead": 0, "deferred": 1}
    assert json.loads(store.objects[first])["peers"][HUNG]["attempts"] == 0
    assert sorted(attempts(store, HUNG)) == [0] + [1] * 39


class Timeouts(FakePeers):
    """FakePeers that also notes the deadline each post was given."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float] = []

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        self.timeouts.append(timeout)
        super().post(url, body, headers, timeout)


def route_origin(elapsed: float) -> tuple[App, Timeouts]:
    store, clock, peers = MemoryBlobStore(), FakeClock(), Timeouts()
    settings = Settings(peer_urls=(HEALTHY,), peer_secret="k", retry_token="t")
    services = Services(
        settings, "local", lambda: store, clock, transport=lambda: peers, monotonic=Elapsed(elapsed)
    )
    app = App(services)
    owe(app, clock, (HEALTHY,), 3)
    clock.advance(minutes=1)
    return app, peers


def test_the_http_retry_route_runs_within_a_requests_time_not_the_jobs() -> None:
    # GIVEN three due records, and 17 s gone by the time the run would start each
    app, _ = route_origin(17.0)
    # WHEN an operator calls the route on the HTTP function (stopped at ~30 s)
    status, body, _ = CoreClient(app).request(
        "POST", "/internal/outbox/retry", headers={"authorization": "Bearer t"}
    )
    # THEN it starts nothing past its own budget (20 s, less a deadline and a margin)
    assert status == 200
    assert (body["attempted"], body["deferred"]) == (0, 3)
    # AND the schedule's entry point, with the job's time, sends them all
    app, _ = route_origin(17.0)
    assert app.jobs.retry()["delivered"] == 3


def test_the_http_retry_routes_attempts_wait_the_webhooks_deadline() -> None:
    app, peers = route_origin(0.0)
    status, body, _ = CoreClient(app).request(
        "POST", "/internal/outbox/retry", headers={"authorization": "Bearer t"}
    )
    assert (status, body["delivered"]) == (200, 3)
    assert peers.timeouts == [app.services.settings.fanout_timeout_s] * 3
