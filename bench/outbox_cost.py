"""What a retry run costs each cloud's storage with a long backlog: 10,000 outbox records of
which 10 are due, on moto (S3), fake-gcs-server (GCS) and Azurite (Blob), the requests counted
by a proxy in front of each emulator (one webhook's requests: bench/ingest_cost.py).

    .venv/bin/python -m bench.outbox_cost [--backlog N]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.storage import Acknowledging, emulator_stores, request_class
from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.ingest import encode
from functions.core.outbox import Outbox
from functions.core.services import Services
from functions.core.settings import Settings
from tools.counting_proxy import CountingProxy

PEERS = ("https://peer-a.example", "https://peer-b.example")


def measure(name: str, upstream: str, make: Callable[[str], Any], backlog: int) -> dict[str, Any]:
    """A retry run as the schedules run it (`Jobs.retry`): the due records listed and
    read, each one's event looked up at the origin (their first retry), every peer
    acknowledging, the records deleted; then `GET /peers`' backlog count."""
    cloud = name.split()[0]  # "s3 (moto)": its billing classes are S3's
    proxy = CountingProxy(upstream)
    try:
        direct, counted = make(upstream), make(proxy.url)
        now = datetime.now(UTC)
        outbox = Outbox(direct, 12, (5.0, 600.0))

        def add(n: int) -> None:
            at = now - timedelta(minutes=5) if n < 10 else now + timedelta(hours=1)
            envelope = Envelope(uuid7(now), "bench", now, "x", {"n": n})
            outbox.add(PEERS, envelope, at - timedelta(seconds=5))
            if n < 10:  # the webhooks that recorded these stored their events
                direct.put(envelope.key, encode(envelope))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(add, range(backlog)))
        settings = Settings(peer_urls=PEERS, peer_secret="bench", log_level="WARNING")
        app = App(Services(settings, name, lambda: counted, transport=Acknowledging))
        fanout = app.services.fanout()
        assert fanout is not None
        proxy.reset()
        result = app.jobs.retry()
        run, sent = dict(proxy.counts), list(proxy.requests)
        proxy.reset()
        fanout.outbox.backlog(PEERS)
        backlog_requests = dict(proxy.counts)
    finally:
        proxy.stop()
    return {
        "store": name,
        "backlog": backlog,
        "due": result["attempted"] // len(PEERS),
        "retry_run": run,
        "listing_pages": sum(
            1 for m, p in sent if m == "GET" and request_class(cloud, m, p) == "write"
        ),
        "peers_backlog": backlog_requests,
    }


EMULATOR_NAMES = {"s3": "s3 (moto)", "gcs": "gcs (fake-gcs-server)", "azure": "azure (Azurite)"}


def run(backlog: int = 10_000) -> list[dict[str, Any]]:
    with emulator_stores("outbox-cost") as stores:
        return [measure(EMULATOR_NAMES[cloud], url, make, backlog) for cloud, url, make in stores]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=10_000)
    print(json.dumps(run(parser.parse_args().backlog), indent=2))


if __name__ == "__main__":
    main()
