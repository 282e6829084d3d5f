"""The storage both cost benches count requests against: moto (S3), fake-gcs-server (GCS) and
Azurite (Blob) on 127.0.0.1, a maker per cloud of the store that talks to a given URL (the
emulator's, or a counting proxy's in front of it), a peer that acknowledges every event, and the
clouds' billing class of each request (bench/ingest_cost.py, bench/outbox_cost.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools import emulators


def s3_store(upstream: str, bucket: str) -> Callable[[str], Any]:
    def make(url: str) -> Any:
        import boto3

        from functions.aws.store import S3BlobStore

        return S3BlobStore(bucket, boto3.client("s3", endpoint_url=url))

    return make


def gcs_store(upstream: str, bucket: str) -> Callable[[str], Any]:
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


def azure_store(conn: str, container: str) -> Callable[[str], Any]:
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


def request_class(cloud: str, method: str, path: str) -> str:
    """The billing class of one HTTP request: "write" (the expensive class: writes and
    listings), "read", or "free" (deletes)."""
    query = parse_qs(urlsplit(path).query)
    if method == "DELETE":
        return "free"
    if method in ("PUT", "POST", "PATCH"):
        return "write"
    if cloud == "s3":
        listing = "list-type" in query or "prefix" in query
    elif cloud == "gcs":
        listing = urlsplit(path).path.rstrip("/").endswith("/o")  # objects.list
    else:
        listing = query.get("comp") == ["list"]
    return "write" if listing else "read"


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
                ("s3", moto.url, s3_store(moto.url, bucket)),
                ("gcs", gcs.url, gcs_store(gcs.url, bucket)),
                ("azure", azurite.url, azure_store(conn, bucket)),
            ]
        finally:
            for server in (moto, gcs, azurite):
                server.stop()
