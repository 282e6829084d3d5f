"""The outbox retry job against real peers on 127.0.0.1 (the real HTTP transport): its own
deadline per attempt, longer than the webhook's, so a peer slower than the inline bound is
still delivered to; one probe per run for a peer that gives no answer, its other records
charged that failed attempt without a send; a healthy peer beside it served in the same run;
the run bounded by its budget. A slow peer holds each delivery for a while, a hung one until
the test ends: only the code's own deadlines end the waits. See docs/peers.md (retries)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.core.app import App
from functions.core.errors import ConfigError
from functions.core.events import Envelope, uuid7
from functions.core.outbox import DEAD, PENDING
from functions.core.services import Services
from functions.core.settings import Settings
from functions.core.signing import PeerSigner
from functions.core.transport import DeliveryError, HttpxTransport, Unreachable
from tests.conftest import Captured, CoreClient
from tests.support.fakes import CountingStore, FakeClock
from tests.support.http_peer import HttpPeer
from tests.unit.test_outbox_cost import until

SECRET = "retry-deadline-secret"
INLINE_S = 0.2  # the webhook's bound on its fan-out
SLOWER_S = 10 * INLINE_S  # a slow peer's answer: far past the inline bound, within the retry's


@pytest.fixture
def peers() -> Iterator[list[HttpPeer]]:
    started: list[HttpPeer] = []
    yield started
    for peer in started:
        peer.close()


def peer(peers: list[HttpPeer], **behaviour: Any) -> HttpPeer:
    started = HttpPeer(SECRET)
    for name, value in behaviour.items():
        setattr(started, name, value)
    peers.append(started)
    return started


def origin(store: CountingStore, clock: FakeClock, logs: Captured, *urls: str, **env: str) -> App:
    # From the environment, as an entry point reads it: code without the retry deadline
    # ignores LAMBDA_RETRY_TIMEOUT, and then fails these tests for the right reason.
    settings = Settings.from_env(
        {
            "LAMBDA_PEER_URLS": ",".join(urls),
            "LAMBDA_PEER_SECRET": SECRET,
            "LAMBDA_READ_TOKEN": "r",
            "LAMBDA_FANOUT_TIMEOUT": str(INLINE_S),
            "LAMBDA_OUTBOX_BACKOFF": "1,1",
            **env,
        }
    )
    return App(Services(settings, "local", lambda: store, clock, logs.logger))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # peers check the signatures' time against theirs


def owe(app: App, clock: FakeClock, urls: tuple[str, ...], count: int) -> list[str]:
    """`count` events whose inline deliveries to `urls` all missed: due at the next run."""
    outbox, ids = app.services.outbox(), []
    for n in range(count):
        event = Envelope(uuid7(clock()), "s", clock(), "local", {"n": n})
        outbox.add(urls, event, clock())
        ids.append(event.id)
    clock.advance(seconds=2)
    return ids


def pending(store: CountingStore) -> dict[str, dict[str, int]]:
    """Event id -> {peer URL: attempts} of every outbox record."""
    found = {}
    for key in store.list(PENDING):
        record = json.loads(store.objects[key])
        found[record["envelope"]["id"]] = {u: p["attempts"] for u, p in record["peers"].items()}
    return found


def run_alone(app: App, **kwargs: Any) -> dict[str, int]:
    """A retry run in a thread of its own, which the test waits on (a minute at most): it
    must end by itself, its waits bounded by its own deadlines."""
    result: dict[str, int] = {}
    thread = threading.Thread(target=lambda: result.update(app.jobs.retry(**kwargs)))
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the retry run did not end by itself"
    return result


def test_a_peer_slower_than_the_inline_bound_gets_every_event_through_the_retry_job(
    peers: list[HttpPeer], clock: FakeClock, logs: Captured
) -> None:
    # GIVEN a peer that answers every delivery only after ten times the webhook's bound
    slow = peer(peers, slow_s=SLOWER_S)
    store = CountingStore()
    app = origin(store, clock, logs, slow.url, LAMBDA_RETRY_TIMEOUT="30")
    # WHEN webhooks come, THEN each answers without waiting for it and queues its delivery
    client = CoreClient(app)
    ids = [client.webhook("s", {"n": n})[1]["id"] for n in range(4)]
    assert len(pending(store)) == 4
    # AND the retry job, with its own deadline, gets every one through in one run
    clock.advance(seconds=2)
    result = run_alone(app)
    assert result == {"attempted": 4, "delivered": 4, "failed": 0, "dead": 0}
    assert set(slow.acked) >= set(ids)
    assert (pending(store), list(store.list(DEAD))) == ({}, [])


def test_a_hung_peer_costs_one_wait_per_run_and_its_records_follow_the_backoff(
    peers: list[HttpPeer], clock: FakeClock, logs: Captured
) -> None:
    # GIVEN 3 events owed to a peer that never answers (max 4 attempts, backoff 1 s)
    hung = peer(peers, hung=True)
    store = CountingStore()
    app = origin(
        store,
        clock,
        logs,
        hung.url,
        LAMBDA_RETRY_TIMEOUT="0.5",
        LAMBDA_OUTBOX_MAX_ATTEMPTS="4",
    )
    owe(app, clock, (hung.url,), 3)
    for run in range(1, 5):
        # WHEN a retry run goes (each past every record's backoff)
        result = run_alone(app)
        clock.advance(seconds=2)
        # THEN the peer was sent one delivery in it, its probe: one bounded wait, not one a
        # record (counted once the hung peer has read it: waited for, not assumed)
        until(lambda run=run: len(hung.received) == run)  # type: ignore[misc]
        assert result["attempted"] == 1
        # AND every record was charged the run's failed attempt, the probe's with a send, the
        # others without one: attempts follow runs, as the backoff schedule says
        assert result["failed"] + result["dead"] == 3
        charged = sorted(a for p in pending(store).values() for a in p.values())
        assert charged == ([run] * 3 if run < 4 else []), run
    # Four runs, four attempts each: dead-lettered on the schedule, no sooner and no later
    assert len(hung.received) == 4
    assert (pending(store), len(list(store.list(DEAD)))) == ({}, 3)


def refusing(peers: list[HttpPeer]) -> HttpPeer:
    """A peer whose port no longer listens: refused at once, a verdict of "down" that does
    not depend on how fast the machine is."""
    gone = peer(peers)
    gone.close()
    return gone


def test_a_healthy_peer_beside_a_down_one_gets_all_its_events_in_the_same_run(
    peers: list[HttpPeer], clock: FakeClock, logs: Captured
) -> None:
    # GIVEN 20 events owed to a healthy peer and a down one (its port refuses)
    healthy, down = peer(peers), refusing(peers)
    store = CountingStore()
    # (30 s: the healthy peer answers by then however loaded the machine)
    app = origin(store, clock, logs, healthy.url, down.url, LAMBDA_RETRY_TIMEOUT="30")
    ids = owe(app, clock, (healthy.url, down.url), 20)
    # WHEN one retry run goes
    result = run_alone(app)
    # THEN the healthy peer has every event; the down one was tried once (the probe)
    assert sorted(healthy.acked) == sorted(ids)
    assert result == {"attempted": 21, "delivered": 20, "failed": 20, "dead": 0}
    # AND every event is still owed to the down peer, each charged the run's attempt
    owed = pending(store)
    assert sorted(owed) == sorted(ids)
    assert [a[down.url] for a in owed.values()] == [1] * 20


def test_records_owed_only_to_a_down_peer_are_charged_unsent_and_move_back(
    peers: list[HttpPeer], clock: FakeClock, logs: Captured
) -> None:
    # GIVEN 30 events owed to a down peer alone, then 10 owed to a healthy peer alone
    healthy, down = peer(peers), refusing(peers)
    store = CountingStore()
    app = origin(store, clock, logs, healthy.url, down.url, LAMBDA_RETRY_TIMEOUT="30")
    owe(app, clock, (down.url,), 30)
    ids = owe(app, clock, (healthy.url,), 10)
    before = set(store.list(PENDING))
    store.reset()
    # WHEN a retry run goes, THEN the healthy peer's records behind them are delivered
    result = run_alone(app)
    assert sorted(healthy.acked) == sorted(ids)
    assert result == {"attempted": 11, "delivered": 10, "failed": 30, "dead": 0}

    # AND the down peer's records were each read and rewritten once, as a failed attempt
    # is, due later by the backoff: none is left in front of the others
    def outbox(kind: str) -> list[str]:
        return [key for call, key in store.calls if call == kind and key.startswith(PENDING)]

    assert len(outbox("get")) == 30 + 10
    assert len(outbox("put")) == 30
    assert not before & set(store.list(PENDING))
    errors = [line.get("error", "") for line in logs.lines()]
    assert sum(e.startswith("peer unreachable this run: ") for e in errors) == 29


def test_a_probe_the_peer_answers_with_a_refusal_does_not_hold_its_other_records(
    peers: list[HttpPeer], clock: FakeClock, logs: Captured
) -> None:
    # GIVEN a peer that refuses one event (a 400: it answered, so it is up)
    picky = peer(peers)
    store = CountingStore()
    app = origin(store, clock, logs, picky.url, LAMBDA_RETRY_TIMEOUT="5")
    ids = owe(app, clock, (picky.url,), 5)
    picky.rejects.add(ids[0])
    # WHEN a retry run goes, THEN the first (the probe) is charged and the rest delivered
    result = run_alone(app)
    assert result == {"attempted": 5, "delivered": 4, "failed": 1, "dead": 0}
    assert sorted(picky.acked) == sorted(ids[1:])


class Ticking:
    """A monotonic clock one second further on at each reading: the run reads it once when
    it starts and once as each record starts, so record n starts at second n."""

    def __init__(self) -> None:
        self.now, self.lock = -1.0, threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 1.0
            return self.now


def test_a_run_starts_no_record_it_could_not_finish_within_its_budget(
    peers: list[HttpPeer], clock: FakeClock, logs: Captured
) -> None:
    # GIVEN 200 events owed to a healthy peer, a retry deadline of 4 s, and a clock that
    # says record n starts n seconds into the run
    up = peer(peers)
    store = CountingStore()
    settings = Settings.from_env(
        {
            "LAMBDA_PEER_URLS": up.url,
            "LAMBDA_PEER_SECRET": SECRET,
            "LAMBDA_READ_TOKEN": "r",
            "LAMBDA_RETRY_TIMEOUT": "4",
            "LAMBDA_OUTBOX_BACKOFF": "1,1",
        }
    )
    app = App(Services(settings, "local", lambda: store, clock, logs.logger, monotonic=Ticking()))
    owe(app, clock, (up.url,), 200)
    # WHEN a run goes with a budget of 12 s: none may start after 12 - 4 - 1.2 = 6.8 s
    result = run_alone(app, budget_s=12.0)
    # THEN the six that started by then were delivered, the rest left due and uncharged
    assert result == {"attempted": 6, "delivered": 6, "failed": 0, "dead": 0, "deferred": 194}
    assert len(up.acked) == 6
    assert sum(a for p in pending(store).values() for a in p.values()) == 0


def test_the_transport_tells_a_peer_that_gave_no_answer_from_one_that_refused(
    peers: list[HttpPeer], clock: FakeClock
) -> None:
    transport, up = HttpxTransport(), peer(peers)
    event = Envelope(uuid7(clock()), "s", clock(), "local", {})
    body = json.dumps(event.to_dict()).encode()
    headers = PeerSigner(SECRET).headers(event.id, body, clock())
    up.rejects.add(event.id)  # answered 400: about this event, the peer is up
    with pytest.raises(DeliveryError) as caught:
        transport.post(f"{up.url}/internal/event", body, headers, 2.0)
    assert type(caught.value) is DeliveryError
    for status in (503, 429):  # failing or busy: about the peer
        up.status, up.rejects = status, set()
        with pytest.raises(Unreachable):
            transport.post(f"{up.url}/internal/event", body, headers, 2.0)
    closed = peer(peers)
    closed.close()  # nothing listens there any more: refused
    with pytest.raises(Unreachable):
        transport.post(f"{closed.url}/internal/event", body, headers, 2.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LAMBDA_RETRY_TIMEOUT": "0"}, "must be a positive, finite number"),
        ({"LAMBDA_RETRY_TIMEOUT": "inf"}, "must be a positive, finite number"),
        ({"LAMBDA_RETRY_TIMEOUT": "301"}, "must be at most 300 seconds"),
        (
            {"LAMBDA_RETRY_TIMEOUT": "2", "LAMBDA_FANOUT_TIMEOUT": "5"},
            "must be at least LAMBDA_FANOUT_TIMEOUT (5 seconds)",
        ),
        (
            {"LAMBDA_RETRY_TIMEOUT": "61", "LAMBDA_JOB_TIMEOUT": "240"},
            "must be at most a quarter of LAMBDA_JOB_TIMEOUT (60 seconds)",
        ),
    ],
)
def test_a_bad_retry_timeout_stops_the_start_with_one_line_naming_it(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    text = str(caught.value)
    assert "LAMBDA_RETRY_TIMEOUT" in text
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        ({}, 30.0),
        ({"LAMBDA_JOB_TIMEOUT": "60"}, 15.0),
        # never under the webhook's bound, whatever a quarter of the job's time is
        ({"LAMBDA_JOB_TIMEOUT": "60", "LAMBDA_FANOUT_TIMEOUT": "20"}, 20.0),
        ({"LAMBDA_RETRY_TIMEOUT": "12.5"}, 12.5),
    ],
)
def test_the_retry_timeout_defaults_to_30_s_or_a_quarter_of_the_job_timeout(
    env: dict[str, str], seconds: float
) -> None:
    assert Settings.from_env(env).retry_timeout_s == seconds
