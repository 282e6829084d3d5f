"""What one webhook costs each cloud's storage at the origin, counted against the emulators
(moto for S3, fake-gcs-server for GCS, Azurite for Blob) by a proxy that sees every HTTP request
the SDKs really send: with no peers and with two peers, with and without an idempotency key.

The counts are machine-independent; the price per million webhooks applies each cloud's list
prices per request class (below). Peers answer as a real peer does when it stored the event
(`/internal/event` -> 201): the origin's storage requests do not depend on anything else the
peer does, and the peers' own writes are billed to them.

    .venv/bin/python -m bench.ingest_cost [--webhooks 20]
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from bench.storage import Acknowledging, emulator_stores, request_class
from functions.core.app import App
from functions.core.http import Request
from functions.core.services import Services
from functions.core.settings import Settings
from tools.counting_proxy import CountingProxy

PEERS = ("https://peer-a.example", "https://peer-b.example")
BUCKET = "ingest-cost"

# List prices in USD per request, by the clouds' own request classes (each cloud's public pricing
# page, standard/hot storage, read November 2026; prices change, the counts do not):
# - S3 Standard, us-east-1 (aws.amazon.com/s3/pricing): PUT, COPY, POST, LIST $0.005 per 1,000;
#   GET, HEAD and the rest $0.0004 per 1,000; DELETE free.
# - Cloud Storage Standard, regional (cloud.google.com/storage/pricing): Class A (inserts,
#   lists, patches) $0.005 per 1,000; Class B (gets) $0.0004 per 1,000; DELETE free.
# - Blob Storage Hot, LRS, East US (azure.microsoft.com/pricing/details/storage/blobs): write
#   and list operations $0.065 per 10,000; reads $0.005 per 10,000; delete free.
PRICES = {
    "s3": {"write": 0.005 / 1000, "read": 0.0004 / 1000, "free": 0.0},
    "gcs": {"write": 0.005 / 1000, "read": 0.0004 / 1000, "free": 0.0},
    "azure": {"write": 0.065 / 10_000, "read": 0.005 / 10_000, "free": 0.0},
}


def once_per_client(cloud: str, method: str, path: str) -> bool:
    """google-cloud-storage 3.x reads the bucket's metadata once per client, from a background
    thread (`_bucket_metadata_cache`): a start-up cost like the hour's index marker, whenever
    it lands."""
    return cloud == "gcs" and method == "GET" and urlsplit(path).path.count("/") == 4


def _same(store: Any) -> Any:
    return store


def _webhook(app: App, n: int, key: bool) -> None:
    headers = {"content-type": "application/json"}
    if key:
        headers["idempotency-key"] = f"delivery-{uuid.uuid4()}"
    body = json.dumps({"n": n, "bench": True}).encode()
    response = app.handle(Request("POST", "/webhook/bench", headers, body=body))
    if response.status != 201:
        raise RuntimeError(f"webhook answered {response.status}: {response.body!r}")


def measure(
    cloud: str, upstream: str, make: Callable[[str], Any], webhooks: int
) -> list[dict[str, Any]]:
    rows = []
    proxy = CountingProxy(upstream)
    try:
        for peers in ((), PEERS):
            for key in (False, True):
                settings = Settings(peer_urls=peers, peer_secret="bench", log_level="WARNING")
                store = make(proxy.url)
                app = App(Services(settings, cloud, partial(_same, store), transport=Acknowledging))
                _webhook(app, -1, key)  # the hour's index marker: once per hour and instance
                proxy.reset()
                for n in range(webhooks):
                    _webhook(app, n, key)
                sent = [(m, p) for m, p in proxy.requests if not once_per_client(cloud, m, p)]
                classes = Counter(request_class(cloud, m, p) for m, p in sent)
                methods = Counter(m for m, _ in sent)
                per = {c: classes[c] / webhooks for c in ("write", "read", "free")}
                rows.append(
                    {
                        "cloud": cloud,
                        "peers": len(peers),
                        "idempotency_key": key,
                        "requests": {m: n / webhooks for m, n in sorted(methods.items())},
                        "classes": per,
                        "usd_per_million": round(
                            sum(per[c] * PRICES[cloud][c] for c in per) * 1_000_000, 2
                        ),
                    }
                )
    finally:
        proxy.stop()
    return rows


def run(webhooks: int = 20) -> list[dict[str, Any]]:
    with emulator_stores(BUCKET) as stores:
        return [row for cloud, url, make in stores for row in measure(cloud, url, make, webhooks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--webhooks", type=int, default=20)
    print(json.dumps(run(parser.parse_args().webhooks), indent=2))


if __name__ == "__main__":
    main()
