"""What a retry run costs each cloud's storage with a long backlog: 10,000 outbox records of
which 10 are due, on moto (S3), fake-gcs-server (GCS) and Azurite (Blob), the requests counted
by a proxy in front of each emulator (one webhook's requests: bench/ingest_cost.py).

    .venv/bin/python -m bench.outbox_cost [--backlog N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.core.app import App
from functions.core.events import Envelope, uuid7
from functions.core.ingest import encode
from functions.core.outbox import Outbox
from functions.core.settings import Settings
from tools import emulators
from tools.counting_proxy import CountingProxy

PEERS = ("https://peer-a.example", "https://peer-b.example")


def _s3(upstream: str, bucket: str) -> Callable[[str], Any]:
    def make(url: str) -> Any:
        import boto3

        from functions.aws.store import S3BlobStore

        return S3BlobStore(bucket, boto3.client("s3", endpoint_url=url))

    return make


def _gcs(upstream: str, bucket: str) -> Callable[[str], Any]:
    def make(url: str) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        from functions.gcp.store import GCSBlobStore

        # The emulator (or the proxy in front of it) by the client's own endpoint option, not
        # STORAGE_EMULATOR_HOST: the process's environment stays as it was.
        client = storage.Client(
            project="emulator",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": url},
        )
        return GCSBlobStore(bucket, client)

    return make


def _azure(conn: str, container: str) -> Callable[[str], Any]:
    def make(url: str) -> Any:
        from functions.azure.store import AzureBlobStore
        from functions.core.settings import Settings

        blob = next(p for p in conn.split(";") if p.startswith("BlobEndpoint=")).split("=", 1)[1]
        account = blob.rstrip("/").rsplit("/", 1)[1]
        moved = conn.replace(blob, f"{url}/{account}")
        return AzureBlobStore.from_settings(container, Settings(azure_connection_string=moved))

    return make


class Acknowledging:
    """A peer transport whose every peer stored the event (a real peer's 201)."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        return None


def measure(name: str, upstream: str, make: Callable[[str], Any], backlog: int) -> dict[str, Any]:
    """A retry run as the schedules run it (`App.retry_outbox`): the due records listed and
    read, each one's event looked up at the origin (their first retry), every peer
    acknowledging, the records deleted; then `GET /peers`' backlog count."""
    from bench.ingest_cost import request_class  # (it imports this module)

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
        app = App(settings, name, lambda: counted, transport=Acknowledging)
        fanout = app.fanout()
        assert fanout is not None
        proxy.reset()
        result = app.retry_outbox()
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


@contextmanager
def emulator_stores(bucket: str) -> Iterator[list[tuple[str, str, Callable[[str], Any]]]]:
    """moto, fake-gcs-server and Azurite on 127.0.0.1, each with `bucket` made: per cloud, its
    name, its URL and a maker of the store that talks to a given URL (the emulator's, or a
    counting proxy's in front of it). All three stop on exit."""
    with tempfile.TemporaryDirectory(prefix="lambda-emulators-") as tmp:
        work = Path(tmp)
        moto, gcs, azurite = (
            emulators.start_moto(work),
            emulators.start_fake_gcs(work),
            emulators.start_azurite(work),
        )
        try:
            os.environ.update(emulators.AWS_ENV)
            import boto3
            from azure.storage.blob import BlobServiceClient
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            boto3.client("s3", endpoint_url=moto.url).create_bucket(Bucket=bucket)
            storage.Client(
                project="emulator",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": gcs.url},
            ).create_bucket(bucket)
            conn = emulators.azurite_connection_string(azurite)
            BlobServiceClient.from_connection_string(conn).create_container(bucket)
            yield [
                ("s3", moto.url, _s3(moto.url, bucket)),
                ("gcs", gcs.url, _gcs(gcs.url, bucket)),
                ("azure", azurite.url, _azure(conn, bucket)),
            ]
        finally:
            for server in (moto, gcs, azurite):
                server.stop()


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
