"""Who a retry run judges down (functions/core/retry_run.py; docs/peers.md, retries): only a
peer whose probe got no answer, and only in a run with the job's own deadline. A peer that
throttles later in the run, or one the HTTP route's short nudge could not hear from, is paused:
its records stay due, uncharged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.core.outbox import DEAD
from tests.support.client import CoreClient
from tests.support.fakes import CountingStore, FakeClock
from tests.support.http_peer import HttpPeer
from tests.unit.test_retry_deadline import SECRET, origin, owe, pending, run_alone

LIMIT = 10  # a new AWS account's Lambda concurrency; Cloud Run at its instance cap


class Throttled(HttpPeer):
    """Accepts LIMIT deliveries at once, each held `slow_s`, and answers 429 past that."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.in_flight = 0
        self.throttled = 0
        self.gate = threading.Lock()

    def answer(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.gate:
            if self.in_flight >= LIMIT:
                self.throttled += 1
                return 429, {"error": {"code": "too_many_requests", "message": "throttled"}}
            self.in_flight += 1
        try:
            return super().answer(body, headers)
        finally:
            with self.gate:
                self.in_flight -= 1


@pytest.fixture
def throttled() -> Iterator[Throttled]:
    peer = Throttled(SECRET)
    peer.slow_s = 0.3
    yield peer
    peer.close()


@pytest.fixture
def slow() -> Iterator[HttpPeer]:
    peer = HttpPeer(SECRET)
    peer.slow_s = 1.0  # alive: slower than the webhook's bound (0.2 s), far within 30 s
    yield peer
    peer.close()


def test_a_peer_throttling_after_its_probe_loses_nothing_to_the_dead_letter(
    throttled: Throttled, logs: Any
) -> None:
    clock = FakeClock(datetime.now(UTC))
    store = CountingStore()
    app = origin(
        store, clock, logs, throttled.url, LAMBDA_RETRY_TIMEOUT="30", LAMBDA_OUTBOX_MAX_ATTEMPTS="3"
    )
    owe(app, clock, (throttled.url,), 200)
    for _ in range(4):
        result = run_alone(app)
        assert result["delivered"] >= 1  # its probe got through: it was never judged down
        clock.advance(seconds=2)
    # Every send within its limit was taken; a 429 charged only the record it refused.
    assert list(store.list(DEAD)) == []
    charged = [n for owed in pending(store).values() for n in owed.values()]
    assert sum(charged) <= throttled.throttled


def test_the_http_routes_nudge_charges_no_slow_peer(slow: HttpPeer, logs: Any) -> None:
    clock = FakeClock(datetime.now(UTC))
    store = CountingStore()
    app = origin(
        store,
        clock,
        logs,
        slow.url,
        LAMBDA_RETRY_TIMEOUT="30",
        LAMBDA_RETRY_TOKEN="t",
        LAMBDA_OUTBOX_MAX_ATTEMPTS="3",
    )
    owe(app, clock, (slow.url,), 20)
    for _ in range(3):  # three nudges would have dead-lettered all 20
        status, _, _ = CoreClient(app).request(
            "POST", "/internal/outbox/retry", headers={"authorization": "Bearer t"}
        )
        assert status == 200
        clock.advance(seconds=2)
    assert [n for owed in pending(store).values() for n in owed.values()] == [0] * 20
    assert list(store.list(DEAD)) == []
    # The scheduled run, with the job's own deadline, delivers them all.
    assert run_alone(app)["delivered"] == 20
