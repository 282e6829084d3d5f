"""The job lease (functions/core/lease.py) against every store the contract suite uses: the
in-memory fake, the local filesystem, S3 (moto), Cloud Storage (fake-gcs-server) and Azure Blob
(Azurite). Its safety rests on each store's own conditional create, so it is tested there."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from functions.core.lease import LEASE_PREFIX, Lease
from tests.contract.test_blobstore_contract import STORES
from tests.support.fakes import FakeClock

TTL = timedelta(minutes=10)


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest) -> Any:
    return STORES[request.param](request)


def test_a_second_run_finds_the_lease_taken_and_exits(store: Any) -> None:
    clock = FakeClock()
    first = Lease(store, clock, "retry", TTL).acquire()
    assert first is not None
    assert Lease(store, clock, "retry", TTL).acquire() is None


def test_a_released_lease_is_taken_at_once_by_the_next_run(store: Any) -> None:
    clock = FakeClock()
    lease = Lease(store, clock, "retry", TTL)
    held = lease.acquire()
    assert held is not None
    lease.release(held)
    assert lease.acquire() is not None


def test_a_crashed_runs_lease_lapses_at_its_expiry_and_not_before(store: Any) -> None:
    # GIVEN a run that took the lease and never released it (killed at its timeout)
    clock = FakeClock()
    assert Lease(store, clock, "compact", TTL).acquire() is not None
    # WHEN the next run comes just before the expiry, THEN it is turned away; just after, it runs
    clock.advance(seconds=TTL.total_seconds() - 1)
    assert Lease(store, clock, "compact", TTL).acquire() is None
    clock.advance(seconds=2)
    assert Lease(store, clock, "compact", TTL).acquire() is not None


def test_two_jobs_hold_their_own_leases(store: Any) -> None:
    clock = FakeClock()
    assert Lease(store, clock, "retry", TTL).acquire() is not None
    assert Lease(store, clock, "compact", TTL).acquire() is not None


def test_of_runs_racing_for_a_free_lease_exactly_one_wins(store: Any) -> None:
    clock = FakeClock()
    barrier = threading.Barrier(6)
    won: list[object] = []

    def run() -> None:
        barrier.wait()
        held = Lease(store, clock, "retry", TTL).acquire()
        if held is not None:
            won.append(held)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_of_runs_racing_for_a_lapsed_lease_exactly_one_wins(store: Any) -> None:
    clock = FakeClock()
    assert Lease(store, clock, "retry", TTL).acquire() is not None
    clock.advance(seconds=TTL.total_seconds() + 1)
    barrier = threading.Barrier(6)
    won: list[object] = []

    def run() -> None:
        barrier.wait()
        if Lease(store, clock, "retry", TTL).acquire() is not None:
            won.append(1)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_a_damaged_lease_object_counts_as_lapsed(store: Any) -> None:
    clock = FakeClock()
    store.put(f"{LEASE_PREFIX}retry/000000000001", b"{not json")
    assert Lease(store, clock, "retry", TTL).acquire() is not None


class StaleFirstListing:
    """The store, except that its first listing is one taken long ago: a run that listed, then
    stalled (GC pause, frozen instance) while others took and cleaned the lease."""

    def __init__(self, store: Any, stale: list[str]) -> None:
        self._store, self._stale = store, stale
        self.name = store.name

    def list(self, prefix: str) -> Any:
        if self._stale is not None:
            stale, self._stale = self._stale, None
            return iter(stale)
        return self._store.list(prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_stalled_run_that_recreates_a_cleaned_generation_does_not_hold(store: Any) -> None:
    # GIVEN a run that saw generation 1 released, then stalled
    clock = FakeClock()
    lease = Lease(store, clock, "retry", TTL)
    held = lease.acquire()
    assert held is not None
    lease.release(held)
    seen = list(store.list(LEASE_PREFIX))
    # ... while others took and released the lease until generation 2 was cleaned away
    for _ in range(4):
        held = lease.acquire()
        assert held is not None
        lease.release(held)
    current = lease.acquire()
    assert current is not None
    assert f"{LEASE_PREFIX}retry/000000000003" not in set(store.list(LEASE_PREFIX))
    # WHEN the stalled run wakes up and creates generation 3 (its conditional create succeeds)
    stalled = Lease(StaleFirstListing(store, seen), clock, "retry", TTL)
    # THEN it sees a newer generation and does not hold; the holder still does
    assert stalled.acquire() is None
    assert f"{LEASE_PREFIX}retry/000000000003" in set(store.list(LEASE_PREFIX))
    assert Lease(store, clock, "retry", TTL).acquire() is None


def test_generations_do_not_pile_up(store: Any) -> None:
    clock = FakeClock()
    lease = Lease(store, clock, "retry", TTL)
    for _ in range(20):
        held = lease.acquire()
        assert held is not None
        lease.release(held)
    assert len(list(store.list(f"{LEASE_PREFIX}retry/"))) <= 5
