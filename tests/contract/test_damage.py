"""One damaged object never takes down the rest (issue 26, items 1-5), on every store: the
in-memory fake, the local store and each cloud store on its emulator. Each test damages one
stored object as a bad restore, a hand edit or another tool's partial upload would, and checks
that it is set aside under `quarantine/`, logged once at ERROR with its key, counted in the
reader's `GET /peers`, that everything else goes on, and what can be rebuilt is rebuilt."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.core.app import App
from functions.core.compaction import Compactor
from functions.core.logs import LOGGER_NAME, JsonFormatter
from functions.core.partitions import load_manifest, manifest_key
from functions.core.services import Services
from functions.core.settings import Settings
from tests.conftest import READ_TOKEN, CoreClient
from tests.support.fakes import FakeClock, FakePeers

START = datetime(2026, 11, 23, 7, 0, 0, tzinfo=UTC)
DAY = "2026-11-23"
PEER = "https://peer.example"
SECRET = "damage-secret"


@pytest.fixture
def store(every_store: Any) -> Any:
    """Every store (tests/contract/conftest.py)."""
    return every_store


@pytest.fixture
def errors() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The ERROR lines the app's logger writes while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.ERROR)
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def make(store: Any, peers: FakePeers | None = None) -> tuple[CoreClient, FakeClock]:
    # With peers, the clock runs two hours behind: the peer checks a signature's time against
    # real time, so a retry at `datetime.now()` is one it accepts.
    clock = FakeClock(START if peers is None else datetime.now(UTC) - timedelta(hours=2))
    settings = Settings(read_token=READ_TOKEN, retry_token="tok")
    if peers is not None:
        settings = settings._replace(
            peer_urls=(PEER,),
            peer_secret=SECRET,
            outbox_max_attempts=2,
            outbox_backoff_s=(10.0, 60.0),
            fanout_timeout_s=1.0,
        )
    services = Services(settings, "local", lambda: store, clock, None, lambda: peers)
    return CoreClient(App(services)), clock


def ingest(client: CoreClient, clock: FakeClock, count: int, source: str = "orders") -> list[str]:
    """`count` events, 20 minutes apart from 07:00; their keys."""
    keys = []
    for n in range(count):
        status, body, _ = client.webhook(source, {"n": n})
        assert status == 201, body
        keys.append(body["key"])
        clock.advance(minutes=20)
    return keys


def rows(client: CoreClient, source: str = "orders") -> list[int]:
    status, body, _ = client.request(
        "GET", "/query", query={"source": source, "date": DAY, "limit": "1000"}
    )
    assert status == 200, body
    return sorted(row["payload"]["n"] for row in body["rows"])


def quarantined(client: CoreClient) -> int:
    status, body, _ = client.request(
        "GET", "/peers", headers={"authorization": f"Bearer {READ_TOKEN}"}
    )
    assert status == 200, body
    return int(body["quarantined"])


def set_aside_keys(store: Any) -> list[str]:
    return [k.rsplit("~", 1)[0].removeprefix("quarantine/") for k in store.list("quarantine/")]


@pytest.mark.parametrize("damage", [b'{"id": "trunc', b""], ids=["truncated", "empty"])
def test_a_damaged_raw_event_is_set_aside_and_the_days_other_events_answer(
    store: Any, errors: Callable[[], list[dict[str, Any]]], damage: bytes
) -> None:
    # GIVEN six events of a day, one of them truncated or emptied (before: a 500 for the whole
    # day, or the empty one dropped silently)
    client, clock = make(store)
    keys = ingest(client, clock, 6)
    store.put(keys[2], damage)
    # THEN the query answers the five others, twice, and the damaged one is set aside once
    assert rows(client) == [0, 1, 3, 4, 5]
    assert rows(client) == [0, 1, 3, 4, 5]
    assert set_aside_keys(store) == [keys[2]]
    assert quarantined(client) == 1
    lines = [e for e in errors() if e["message"] == "damaged object set aside"]
    assert [line["key"] for line in lines] == [keys[2]]


def test_compaction_sets_a_damaged_event_aside_and_compacts_every_other_partition(
    store: Any,
) -> None:
    # GIVEN two sources in the same hours, one event of one of them truncated (before: the run
    # stopped with a 500 and no partition after it was ever compacted)
    client, clock = make(store)
    keys = ingest(client, clock, 6, "orders")
    clock.now = START
    ingest(client, clock, 6, "refunds")
    store.put(keys[0], b'{"id": ')
    clock.now = START + timedelta(hours=4)
    result = Compactor(store, clock).run()
    # THEN every partition is compacted, the damaged event set aside, the rest answered
    assert result == {"partitions": 4, "compacted": 4, "events": 11, "failed": 0}
    assert set_aside_keys(store) == [keys[0]]
    assert rows(client, "orders") == [1, 2, 3, 4, 5]
    assert rows(client, "refunds") == [0, 1, 2, 3, 4, 5]
    assert Compactor(store, clock).run()["compacted"] == 0  # and it stays done


def compacted(store: Any, client: CoreClient, clock: FakeClock) -> datetime:
    ingest(client, clock, 3)  # 07:00, 07:20, 07:40
    clock.now = START + timedelta(hours=4)
    assert Compactor(store, clock).run()["compacted"] == 1
    return START


@pytest.mark.parametrize(
    "damage",
    ["parquet-truncated", "parquet-garbage", "manifest-truncated", "manifest-names-a-lost-file"],
)
def test_a_damaged_compacted_hour_answers_from_its_raw_events_and_is_rebuilt(
    store: Any, damage: str
) -> None:
    # GIVEN a compacted hour whose Parquet file or manifest is damaged (before: /query 500 for
    # good, and compaction never rebuilt it: the ids had not changed)
    client, clock = make(store)
    hour = compacted(store, client, clock)
    manifest = load_manifest(store, "orders", hour)
    assert manifest is not None
    if damage == "parquet-truncated":
        store.put(manifest.file, store.get(manifest.file)[:100])
    elif damage == "parquet-garbage":
        store.put(manifest.file, b"PAR1 this is no parquet PAR1")
    elif damage == "manifest-truncated":
        store.put(manifest_key("orders", hour), store.get(manifest_key("orders", hour))[:30])
    else:
        store.delete(manifest.file)
    # THEN the query answers every event, from the raw ones, and sets the damage aside
    assert rows(client) == [0, 1, 2]
    assert quarantined(client) == 1
    # and the next compaction rebuilds the hour, which then answers from Parquet again
    assert Compactor(store, clock).run()["compacted"] == 1
    rebuilt = load_manifest(store, "orders", hour)
    assert rebuilt is not None
    assert rebuilt.ids == manifest.ids
    assert rows(client) == [0, 1, 2]
    assert Compactor(store, clock).run()["compacted"] == 0


def test_a_damaged_outbox_record_at_the_head_stops_no_delivery_behind_it(store: Any) -> None:
    # GIVEN five records owed to a peer that was down, the oldest one damaged (before: 0 of the
    # 4 good ones delivered, and the retry route answered 500)
    peers = FakePeers(SECRET)
    peers.down.add(PEER)
    client, clock = make(store, peers)
    ingest(client, clock, 5)
    head = next(iter(store.list("outbox/")))
    store.put(head, b'{"envelope": {"id"')
    peers.down.clear()
    clock.now = datetime.now(UTC)
    status, body, _ = client.request(
        "POST", "/internal/outbox/retry", headers={"authorization": "Bearer tok"}
    )
    assert (status, body["delivered"]) == (200, 4), body
    assert len(peers.delivered) == 4
    assert list(store.list("outbox/")) == []
    assert set_aside_keys(store) == [head]


def test_a_damaged_dead_letter_is_set_aside_and_the_letters_beside_it_are_requeued(
    store: Any,
) -> None:
    peers = FakePeers(SECRET)
    peers.down.add(PEER)
    client, clock = make(store, peers)
    ingest(client, clock, 3)
    # Attempts used up: three dead letters. Each run charges only the record it probes the
    # down peer with (docs/peers.md, retries): two runs per record.
    for _ in range(6):
        clock.advance(minutes=10)
        client.request("POST", "/internal/outbox/retry", headers={"authorization": "Bearer tok"})
    letters = list(store.list("outbox-dead/"))
    assert len(letters) == 3
    store.put(letters[1], b"\x00\x01 not json")
    status, body, _ = client.request(
        "POST", "/internal/outbox/requeue", headers={"authorization": "Bearer tok"}
    )
    assert (status, body) == (200, {"requeued": 2})
    assert set_aside_keys(store) == [letters[1]]
    assert list(store.list("outbox-dead/")) == []


def test_a_damaged_idempotency_record_answers_409_and_never_stores_a_second_copy(
    store: Any,
) -> None:
    # GIVEN a keyed delivery stored once, whose idempotency record is then damaged (before: a
    # 500 on every retry)
    client, _ = make(store)
    status, _, _ = client.webhook("orders", {"n": 1}, idempotency_key="delivery-1")
    assert status == 201
    (marker,) = store.list("idempotency/")
    store.put(marker, b'{"id": "0192')
    # THEN each retry is a 409 in the error shape: whether the first was stored cannot be told
    for _ in range(2):
        status, body, _ = client.webhook("orders", {"n": 1}, idempotency_key="delivery-1")
        assert (status, body["error"]["code"]) == (409, "conflict"), body
    # no second copy; the record stays in place, a copy of it is set aside, once
    assert len([k for k in store.list("events/") if k.endswith(".json")]) == 1
    assert store.get(marker) == b'{"id": "0192'
    assert set_aside_keys(store) == [marker]
    assert quarantined(client) == 1
