"""Compaction: the same rows before and after, late events, and crash-then-re-run safety."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.core.app import App
from functions.core.compaction import Compactor
from functions.core.events import Envelope
from functions.core.partitions import load_manifest
from functions.core.query import QueryParams, plan
from functions.core.services import Services
from functions.core.settings import Settings
from tests.conftest import READ_TOKEN, CoreClient
from tests.support.fakes import FakeClock, MemoryBlobStore

START = datetime(2026, 11, 23, 7, 0, 0, tzinfo=UTC)
DAY = "2026-11-23"


class CrashingStore(MemoryBlobStore):
    """Dies (once) when asked to write a key ending in `suffix`, as a killed process would."""

    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix, self.crashed = suffix, False

    def put(self, key: str, data: bytes) -> None:
        if key.endswith(self.suffix) and not self.crashed:
            self.crashed = True
            raise RuntimeError("killed mid-compaction")
        super().put(key, data)


@pytest.fixture
def store(every_store: Any) -> Any:
    """Every store (tests/contract/conftest.py)."""
    return every_store


def make(store: Any) -> tuple[CoreClient, FakeClock]:
    clock = FakeClock(START)
    return CoreClient(
        App(Services(Settings(read_token=READ_TOKEN), "local", lambda: store, clock))
    ), clock


def ingest(client: CoreClient, clock: FakeClock, count: int, source: str = "orders") -> None:
    """`count` events spread over hours 07, 08 and 09."""
    for n in range(count):
        client.webhook(source, {"n": n, "nested": {"list": [n, str(n)], "ok": n % 2 == 0}})
        clock.advance(seconds=3 * 3600 / count)


def rows(client: CoreClient, **query: str) -> list[dict[str, Any]]:
    status, body, _ = client.request(
        "GET", "/query", query={"source": "orders", "date": DAY, "limit": "10000", **query}
    )
    assert status == 200, body
    return list(body["rows"])


def snapshot(client: CoreClient) -> list[Any]:
    return [rows(client)] + [rows(client, hour=h) for h in ("07", "08", "09")]


def test_compacted_hours_answer_with_the_same_rows_as_raw_events(store: Any) -> None:
    client, clock = make(store)
    ingest(client, clock, 90)
    before = snapshot(client)
    clock.now = START + timedelta(hours=3, minutes=10)  # hours 07-09 are closed
    assert Compactor(store, clock).run() == {
        "partitions": 3,
        "compacted": 3,
        "events": 90,
        "failed": 0,
    }
    # the query now reads Parquet only
    params = QueryParams("orders", START.date(), None, 100)
    sources = plan(store, params)
    assert (len(sources.parquet), sources.raw) == (3, [])
    assert snapshot(client) == before
    assert [r["payload"]["n"] for r in before[0]] == list(range(89, -1, -1))


def test_an_open_hour_is_not_compacted(store: Any) -> None:
    client, clock = make(store)
    ingest(client, clock, 30)
    clock.now = START + timedelta(hours=3, minutes=2)  # 09 ended 2 minutes ago: still open
    result = Compactor(store, clock).run()
    assert (result["partitions"], result["compacted"]) == (2, 2)
    assert load_manifest(store, "orders", START + timedelta(hours=2)) is None


def test_a_late_event_in_a_compacted_hour_is_found_once_and_compacted_on_the_next_run(
    store: Any,
) -> None:
    client, clock = make(store)
    ingest(client, clock, 30)
    clock.now = START + timedelta(hours=3, minutes=10)
    compactor = Compactor(store, clock)
    compactor.run()
    first = load_manifest(store, "orders", START)
    assert first is not None
    # GIVEN an event for 07:30 arrives late (a peer's delivery, after hours of outage)
    late_at = (START + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    late = {
        "id": "019ab000-0000-7000-8000-000000000001",
        "source": "orders",
        "received_at": late_at,
        "origin": "gcp",
        "idempotency_key": None,
        "headers": {},
        "payload": {"late": True},
    }
    App(Services(Settings(), "local", lambda: store, clock)).services.events().receive(
        Envelope.from_dict(late)
    )
    # THEN the query finds it exactly once, next to the compacted rows
    hour7 = rows(client, hour="07")
    assert [r["id"] for r in hour7].count(late["id"]) == 1
    assert len(hour7) == 11
    # AND the next run folds it in, replacing the old file
    before = snapshot(client)
    assert compactor.run()["compacted"] == 1
    second = load_manifest(store, "orders", START)
    assert second is not None
    assert second.file != first.file
    assert late["id"] in second.ids
    assert [k for k in store.list("compacted/") if k.endswith(".parquet")].count(first.file) == 0
    assert snapshot(client) == before


def test_compaction_is_idempotent(store: Any) -> None:
    client, clock = make(store)
    ingest(client, clock, 30)
    clock.now = START + timedelta(hours=4)
    compactor = Compactor(store, clock)
    compactor.run()
    objects = {k: store.get(k) for k in store.list("compacted/")}
    assert compactor.run()["compacted"] == 0
    assert {k: store.get(k) for k in store.list("compacted/")} == objects


def test_a_crash_before_the_manifest_loses_nothing_and_a_re_run_completes() -> None:
    store = CrashingStore("manifest.json")
    client, clock = make(store)
    ingest(client, clock, 30)
    before = snapshot(client)
    clock.now = START + timedelta(hours=4)
    compactor = Compactor(store, clock)
    # the one partition that crashed is counted and logged; the two others are compacted
    assert compactor.run() == {"partitions": 3, "compacted": 2, "events": 20, "failed": 1}
    # its Parquet file was written but is not referenced: queries still read raw events
    assert len([k for k in store.objects if k.endswith(".parquet")]) == 3
    assert snapshot(client) == before
    assert compactor.run() == {"partitions": 3, "compacted": 1, "events": 10, "failed": 0}
    parquet = sorted(k for k in store.objects if k.endswith(".parquet"))
    manifests = [
        json.loads(store.objects[k])["file"] for k in store.objects if k.endswith("manifest.json")
    ]
    assert parquet == sorted(manifests)  # no orphan left behind
    assert snapshot(client) == before


class ListingStore(MemoryBlobStore):
    def __init__(self) -> None:
        super().__init__()
        self.listed: list[str] = []

    def list(self, prefix: str) -> Any:
        self.listed.append(prefix)
        return super().list(prefix)


def test_a_compacted_day_is_read_without_listing_its_raw_events() -> None:
    store = ListingStore()
    client, clock = make(store)
    ingest(client, clock, 60)
    clock.now = START + timedelta(hours=3, minutes=10)
    Compactor(store, clock).run()
    store.listed.clear()
    rows(client)
    raw_listed = [p for p in store.listed if p.startswith("events/")]
    # only the hours without a manifest (the other 21 hours of the day) are listed, all empty
    assert len(raw_listed) == 21
    assert not any("/hour=07/" in p or "/hour=08/" in p or "/hour=09/" in p for p in raw_listed)


def test_a_compacted_file_holds_its_rows_in_time_order_whatever_order_they_were_stored_in(
    tmp_path: Path,
) -> None:
    # Peers' envelopes keep their own ids and times, so the store lists an hour's events in id
    # order, not time order: here the id order is the reverse of the time order.
    import duckdb

    from functions.core.events import uuid7
    from functions.core.signing import PeerSigner

    store, clock = MemoryBlobStore(), FakeClock(START + timedelta(hours=2))
    settings = Settings(read_token=READ_TOKEN, peer_secret="peer-key")
    client = CoreClient(App(Services(settings, "local", lambda: store, clock)))
    ids = [uuid7(START + timedelta(minutes=m)) for m in range(10)]
    for n, event_id in enumerate(ids):
        at = START + timedelta(minutes=50 - 5 * n)  # the first id is the latest event
        body = json.dumps(Envelope(event_id, "orders", at, "aws", {"n": n}).to_dict()).encode()
        headers = PeerSigner("peer-key").headers(event_id, body, datetime.now(UTC))
        assert client.request("POST", "/internal/event", body, headers)[0] == 201
    assert Compactor(store, clock).run()["events"] == 10
    (key,) = [k for k in store.objects if k.endswith(".parquet")]
    (tmp_path / "part.parquet").write_bytes(store.objects[key])
    with duckdb.connect() as con:
        order = con.execute(f"SELECT id FROM '{tmp_path / 'part.parquet'}'").fetchall()
    assert [row[0] for row in order] == ids[::-1]
