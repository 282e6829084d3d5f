"""What an anti-entropy run costs each cloud: a day of events at the origin, on moto (S3),
fake-gcs-server (GCS) and Azurite (Blob) behind a counting proxy, and a peer in process. Two
runs over the default 7-day window: one where both hold the same events (in sync), one after
the peer lost 1% of the day's events spread over its hours (the repair). Storage requests by
billing class, HTTP requests to the peer by route (docs/peers.md, anti-entropy).

    .venv/bin/python -m bench.reconcile_cost [--events N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.noflush import NoFlush
from bench.storage import emulator_stores, request_class
from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.ingest import EventStore
from functions.core.partitions import HourIndex
from functions.core.services import Services
from functions.core.settings import Settings
from functions.local.store import FileBlobStore
from tools.counting_proxy import CountingProxy
from tools.loopback import Loopback

SECRET = "whsec_YmVuY2gtcmVjb25jaWxlLXNlY3JldA=="
PEER = "https://peer.example"
SOURCES = ("github", "stripe")


def _fill(stores: list[Any], events: int, now: datetime) -> list[Envelope]:
    """`events` events over the last 24 hours, two sources, written to every store given."""
    hour0 = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    envelopes = []
    for n in range(events):
        at = hour0 + timedelta(hours=n % 24, seconds=n // 24 % 3600)
        envelopes.append(Envelope(uuid7(at), SOURCES[n % 2], at, "origin", {"n": n}))
    with ThreadPoolExecutor(16) as pool:
        for store in stores:
            events_store = EventStore(store, HourIndex(store))  # the index marker, the event
            list(pool.map(events_store.write, envelopes))
    return envelopes


def measure(name: str, upstream: str, make: Callable[[str], Any], events: int) -> dict[str, Any]:
    cloud = name.split()[0]
    proxy = CountingProxy(upstream)
    scratch = tempfile.TemporaryDirectory(prefix="lambda-reconcile-peer-")
    try:
        # The peer's store: files in a scratch folder, never flushed (its cost is not ours).
        peer_store = FileBlobStore(Path(scratch.name), NoFlush())
        direct, counted = make(upstream), make(proxy.url)
        now = datetime.now(UTC)
        envelopes = _fill([direct, peer_store], events, now)
        peer = Loopback()
        peer.apps[PEER] = App(
            Services(Settings(peer_secret=SECRET, log_level="WARNING"), "peer", lambda: peer_store)
        )
        settings = Settings(peer_urls=(PEER,), peer_secret=SECRET, log_level="WARNING")
        origin = App(
            Services(settings, name, lambda: counted, transport=lambda: peer, reader=lambda: peer)
        )
        runs = {}
        for label in ("in_sync", "repair_1pct"):
            if label == "repair_1pct":  # the peer loses 1% of the day, spread over its hours
                for envelope in envelopes[::100]:
                    peer_store.delete(envelope.key)
            proxy.reset()
            peer.requests.clear()
            report = origin.jobs.reconcile()
            by_class = Counter(request_class(cloud, m, p) for m, p in proxy.requests)
            runs[label] = {
                "storage": dict(proxy.counts),
                "storage_by_class": dict(by_class),
                "http": peer.by_route(),
                "queued": report["peers"][PEER]["queued"],
                "hours_different": report["peers"][PEER]["different"],
            }
    finally:
        proxy.stop()
        scratch.cleanup()
    return {"store": name, "events": events, "window_hours": 169, **runs}


EMULATOR_NAMES = {"s3": "s3 (moto)", "gcs": "gcs (fake-gcs-server)", "azure": "azure (Azurite)"}


def run(events: int = 2_400) -> list[dict[str, Any]]:
    with emulator_stores("reconcile-cost") as stores:
        return [measure(EMULATOR_NAMES[cloud], url, make, events) for cloud, url, make in stores]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_400)
    print(json.dumps(run(parser.parse_args().events), indent=2))


if __name__ == "__main__":
    main()
