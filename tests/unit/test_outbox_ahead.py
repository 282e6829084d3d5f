"""The outbox record is written ahead of the event: wherever a webhook is cut short (a crash, a
storage outage between two writes), the event ends up at the origin and at every peer, either
through the sender's retry or through the outbox, never at the origin alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.core.app import App
from functions.core.errors import StorageError
from functions.core.services import Services
from functions.core.settings import Settings
from tests.conftest import CoreClient
from tests.support.fakes import (
    CountingStore,
    FailingOnceStore,
    FakeClock,
    FakePeers,
    MemoryBlobStore,
)

SECRET = "ahead-secret"
PEERS = ("https://peer-a.example", "https://peer-b.example")


@pytest.fixture
def clock() -> FakeClock:
    # Peers check a signature's time against real time.
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def peers() -> FakePeers:
    fake = FakePeers(SECRET)
    yield fake
    fake.release.set()


def app_on(store: MemoryBlobStore, peers: FakePeers, clock: FakeClock) -> App:
    settings = Settings(
        peer_urls=PEERS,
        peer_secret=SECRET,
        outbox_backoff_s=(10.0, 60.0),
        fanout_timeout_s=0.2,
    )
    return App(Services(settings, "local", lambda: store, clock, transport=lambda: peers))


def keys(store: MemoryBlobStore, prefix: str) -> list[str]:
    return [k for k in store.objects if k.startswith(prefix)]


@pytest.mark.parametrize("idempotency", [False, True])
def test_the_delivery_is_recorded_after_the_marker_and_before_the_event(
    peers: FakePeers, clock: FakeClock, idempotency: bool
) -> None:
    store = CountingStore()
    client = CoreClient(app_on(store, peers, clock))
    client.webhook("s", {"warm": True})  # the hour index's once-per-instance write
    store.reset()
    headers = {"idempotency_key": "delivery-1"} if idempotency else {}
    status, body, _ = client.webhook("s", {"n": 1}, **headers)
    assert (status, body["fanout"]) == (201, {"delivered": 2, "queued": 0})
    writes = [(call, key.split("/")[0]) for call, key in store.calls if call != "get"]
    marker = [("put_if_absent", "idempotency")] if idempotency else []
    assert writes == [*marker, ("put", "outbox"), ("put_if_absent", "events"), ("delete", "outbox")]


def test_a_webhook_cut_short_after_recording_its_delivery_is_finished_by_the_outbox(
    peers: FakePeers, clock: FakeClock
) -> None:
    # GIVEN a store that fails the event's write, after the delivery was recorded
    store = FailingOnceStore("events/", StorageError("s3://bucket-x is gone"))
    app = app_on(store, peers, clock)
    status, _body, _ = CoreClient(app).webhook("s", {"n": 1})
    assert status == 503  # the sender is told it failed
    assert keys(store, "events/") == []
    (record,) = keys(store, "outbox/")
    sent = json.loads(store.objects[record])["envelope"]
    # WHEN the outbox's retry run comes round (no sender retry: not every sender retries)
    clock.advance(seconds=11)
    assert app.jobs.retry() == {"attempted": 2, "delivered": 2, "failed": 0, "dead": 0}
    # THEN both peers and the origin hold the event, under the one id
    assert sorted(peers.delivered) == sorted((peer, sent["id"]) for peer in PEERS)
    (event,) = keys(store, "events/")
    assert json.loads(store.objects[event]) == sent
    assert keys(store, "outbox/") == []


def test_a_retry_after_the_recording_failed_stores_and_fans_out_the_first_attempt(
    peers: FakePeers, clock: FakeClock
) -> None:
    # GIVEN a first attempt that wrote its idempotency marker, then failed to record delivery
    store = FailingOnceStore("outbox/", StorageError("s3://bucket-x is gone"))
    client = CoreClient(app_on(store, peers, clock))
    assert client.webhook("s", {"n": 1}, idempotency_key="k")[0] == 503
    assert (keys(store, "events/"), peers.delivered) == ([], [])
    # WHEN the sender retries
    status, body, _ = client.webhook("s", {"n": 1}, idempotency_key="k")
    # THEN the first attempt's event is stored and sent to every peer
    assert (status, body["duplicate"], body["fanout"]) == (
        200,
        True,
        {"delivered": 2, "queued": 0},
    )
    assert keys(store, "events/") == [body["key"]]
    assert sorted(peers.delivered) == sorted((peer, body["id"]) for peer in PEERS)
    assert keys(store, "outbox/") == []


def test_a_retry_that_finds_the_event_reads_it_and_writes_nothing(
    peers: FakePeers, clock: FakeClock
) -> None:
    store = CountingStore()
    client = CoreClient(app_on(store, peers, clock))
    first = client.webhook("s", {"n": 1}, idempotency_key="k")[1]
    store.reset()
    status, body, _ = client.webhook("s", {"n": 1}, idempotency_key="k")
    assert (status, body["id"], body["fanout"]) == (200, first["id"], {"delivered": 0, "queued": 0})
    # The marker's create (refused), then two reads: the marker, and the event it points to.
    assert [call for call, _key in store.calls] == ["put_if_absent", "get", "get"]
    assert len(peers.delivered) == 2  # from the first attempt only


def test_only_the_first_retry_of_a_record_looks_for_the_origins_copy(
    peers: FakePeers, clock: FakeClock
) -> None:
    store = CountingStore()
    app = app_on(store, peers, clock)
    peers.down.add(PEERS[1])
    event = CoreClient(app).webhook("s", {"n": 1})[1]["key"]
    reads = []
    for wait in (11, 21):
        clock.advance(seconds=wait)
        store.reset()
        assert app.jobs.retry()["failed"] == 1
        reads.append(store.calls.count(("get", event)))
    assert reads == [1, 0]


class StoredMeanwhile(MemoryBlobStore):
    """The event's conditional create loses to another attempt of the same delivery that
    stored it a moment before (a race a real store decides the same way)."""

    def put_if_absent(self, key: str, data: bytes) -> bool:
        if key.startswith("events/") and key not in self.objects:
            super().put_if_absent(key, data)  # the other attempt's write
            return False
        return super().put_if_absent(key, data)


def test_an_attempt_that_loses_the_race_for_the_event_removes_its_own_record(
    peers: FakePeers, clock: FakeClock
) -> None:
    store = StoredMeanwhile()
    status, body, _ = CoreClient(app_on(store, peers, clock)).webhook("s", {})
    assert (status, body["fanout"]) == (201, {"delivered": 0, "queued": 0})
    assert keys(store, "outbox/") == []  # the winner recorded the delivery itself
    assert peers.calls == []
