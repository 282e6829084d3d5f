"""`/query` latency for partitions of 1k, 10k and 100k events, for one hour and for a whole day,
on the local store and on the S3 emulator, from raw JSON and after compaction."""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.core.app import App
from functions.core.compaction import Compactor
from functions.core.events import Envelope, uuid7
from functions.core.http import Request
from functions.core.ingest import encode
from functions.core.services import Services
from functions.core.settings import Settings
from functions.local.store import FileBlobStore

DAY = datetime(2026, 1, 15, tzinfo=UTC)


def envelopes(source: str, count: int, spread_hours: int) -> list[Envelope]:
    step = timedelta(hours=spread_hours) / count
    start = DAY + timedelta(hours=12 if spread_hours == 1 else 0)
    out = []
    for n in range(count):
        at = start + step * n
        payload = {"n": n, "user": f"u{n % 97}", "items": [n % 7, n % 11], "ok": n % 2 == 0}
        out.append(Envelope(uuid7(at), source, at, "bench", payload, {"x-bench": "1"}))
    return out


def seed(store: Any, items: list[Envelope], local_root: Path | None) -> None:
    if local_root is not None:  # seeding only: plain writes, no fsync, same layout as the store
        for envelope in items:
            path = local_root / envelope.key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(envelope))
        return
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda e: store.put(e.key, encode(e)), items))


def query_ms(app: App, source: str, hour: str | None) -> float:
    query = {"source": (source,), "date": (f"{DAY:%Y-%m-%d}",), "limit": ("100",)}
    if hour:
        query["hour"] = (hour,)
    started = time.perf_counter()
    response = app.handle(Request("GET", "/query", {"authorization": "Bearer bench"}, query))
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status == 200, response.body[:300]
    assert len(json.loads(response.body)["rows"]) == 100
    return elapsed


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "min_ms": round(min(values), 1),
        "max_ms": round(max(values), 1),
        "runs": len(values),
    }


def measure(
    store: Any, local_root: Path | None, sizes: list[int], runs: int, label: str
) -> list[dict[str, Any]]:
    app = App(Services(Settings(log_level="WARNING", read_token="bench"), "bench", lambda: store))
    compactor = Compactor(store, lambda: DAY + timedelta(days=2))
    results: list[dict[str, Any]] = []
    for size in sizes:
        for scope, spread in (("hour", 1), ("day", 24)):
            source = f"{scope}{size}"
            seed(store, envelopes(source, size, spread), local_root)
            hour = "12" if scope == "hour" else None
            # the slowest combinations (raw reads at scale) get fewer runs, never fewer than two
            slow = size >= 100_000 or (local_root is None and size >= 10_000)
            n = max(2, runs // 2) if slow else runs
            raw = [query_ms(app, source, hour) for _ in range(n)]
            started = time.perf_counter()
            for h in range(12, 13) if scope == "hour" else range(24):
                compactor.compact_hour(source, DAY + timedelta(hours=h))
            compact_s = time.perf_counter() - started
            compacted = [query_ms(app, source, hour) for _ in range(runs)]
            results.append(
                {
                    "store": label,
                    "events": size,
                    "scope": scope,
                    "raw": stats(raw),
                    "compacted": stats(compacted),
                    "speedup": round(statistics.median(raw) / statistics.median(compacted), 1),
                    "compaction_s": round(compact_s, 2),
                }
            )
            print(
                f"  query {label} {scope} {size}: raw {results[-1]['raw']['median_ms']} ms, "
                f"compacted {results[-1]['compacted']['median_ms']} ms",
                flush=True,
            )
    return results


def run(
    workdir: Path, local_sizes: list[int], s3_sizes: list[int], runs: int, s3: Any = None
) -> list[dict[str, Any]]:
    root = workdir / "query-local"
    results = measure(FileBlobStore(root), root, local_sizes, runs, "local")
    if s3 is not None and s3_sizes:
        results += measure(s3, None, s3_sizes, runs, "s3 (moto)")
    return results


def start_s3(workdir: Path) -> tuple[Any, Any]:
    """moto's S3 server and a store on a fresh bucket in it."""
    import boto3
    from botocore.config import Config

    from functions.aws.store import S3BlobStore
    from tools import emulators

    server = emulators.start_moto(workdir)
    client = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=64),
    )
    bucket = emulators.unique_bucket("bench")
    client.create_bucket(Bucket=bucket)
    return server, S3BlobStore(bucket, client=client)
