"""Reads see a consistent snapshot while compaction rewrites an hour (issue 26, item 11): a query
must never silently miss an event acknowledged before it began, on every store.

The compactor writes the new file, then the manifest, then removes the file the old manifest
named; a query that read the old manifest finds its file gone. Before issue 26 it skipped the
missing file and answered 200 without the hour's compacted events."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.core.compaction import Compactor
from functions.core.events import Envelope, uuid7
from functions.core.ingest import EventStore
from functions.core.partitions import HourIndex
from functions.core.query import EventQuery, QueryParams
from functions.local.store import FileBlobStore
from tests.support.fakes import FakeClock

HOUR = datetime(2026, 11, 23, 7, 0, 0, tzinfo=UTC)
LATER = HOUR + timedelta(hours=4)  # the hour is closed: compacted, and events into it are late
PARAMS = QueryParams("orders", HOUR.date(), None, 10_000)


@pytest.fixture
def store(every_store: Any) -> Any:
    """Every store (tests/contract/conftest.py)."""
    return every_store


class BetweenPlanAndRead:
    """The store, but `meanwhile()` runs once, just before the first read of a Parquet file:
    the query has read the manifest that names the file, and not the file yet."""

    def __init__(self, inner: Any, meanwhile: Callable[[], None]) -> None:
        self.inner, self.name = inner, inner.name
        self._meanwhile: Callable[[], None] | None = meanwhile

    def get(self, key: str) -> bytes:
        if key.endswith(".parquet") and self._meanwhile is not None:
            run, self._meanwhile = self._meanwhile, None
            run()
        return bytes(self.inner.get(key))

    def put(self, key: str, data: bytes) -> None:
        self.inner.put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        return bool(self.inner.put_if_absent(key, data))

    def list(self, prefix: str) -> Iterator[str]:
        return iter(self.inner.list(prefix))

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def acknowledge(events: EventStore, minute: int, n: int) -> None:
    """An event of 07:`minute`, stored as the webhook would (late: the clock says 11:00)."""
    moment = HOUR + timedelta(minutes=minute, seconds=n % 60)
    envelope = Envelope(uuid7(moment), "orders", moment, "local", {"n": n})
    assert events.write(envelope)


def test_a_query_that_read_the_old_manifest_still_answers_every_acknowledged_event(
    store: Any,
) -> None:
    # GIVEN a compacted hour of three events, and a late fourth one acknowledged since
    clock = FakeClock(LATER)
    events = EventStore(store, HourIndex(store), clock)
    for n in range(3):
        acknowledge(events, 10 * n, n)
    compactor = Compactor(store, clock)
    assert compactor.compact_hour("orders", HOUR)["compacted"]
    acknowledge(events, 50, 3)
    # WHEN compaction folds the late event in between the query's plan and its read
    racing = BetweenPlanAndRead(store, lambda: compactor.compact_hour("orders", HOUR))
    rows = EventQuery(racing).run(PARAMS)
    # THEN the query still answers all four (before issue 26: only the late one, with a 200)
    assert sorted(row["payload"]["n"] for row in rows) == [0, 1, 2, 3]


def test_queries_racing_a_compactor_that_keeps_folding_late_events_in_never_answer_short(
    tmp_path: Path,
) -> None:
    # GIVEN a writer acknowledging late events into a compacted hour, a compactor folding them
    # in as fast as it can, and readers querying the day meanwhile (real threads, local store)
    store = FileBlobStore(tmp_path / "s")
    clock = FakeClock(LATER)
    events = EventStore(store, HourIndex(store), clock)
    for n in range(20):
        acknowledge(events, n, n)
    compactor = Compactor(store, clock)
    compactor.compact_hour("orders", HOUR)
    acknowledged = [20]
    done, compacted = threading.Event(), threading.Semaphore(0)

    def write() -> None:
        for n in range(20, 60):
            acknowledge(events, n % 60, n)
            acknowledged[0] = n + 1
            compacted.acquire(timeout=30)  # one rewrite of the hour per late event
        done.set()

    def compact() -> None:
        while not done.is_set():
            compactor.compact_hour("orders", HOUR)
            compacted.release()

    short: list[tuple[int, int]] = []
    threads = [threading.Thread(target=write), threading.Thread(target=compact)]
    for thread in threads:
        thread.start()
    queries = 0
    while not done.is_set() or queries < 20:
        due = acknowledged[0]  # acknowledged before this query began
        got = len(EventQuery(store).run(PARAMS))
        queries += 1
        if got < due:
            short.append((got, due))
    for thread in threads:
        thread.join(timeout=60)
    # THEN no query answered fewer rows than had been acknowledged before it began
    assert short == [], f"{len(short)} of {queries} queries answered short: {short[:5]}"
