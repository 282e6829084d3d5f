"""One `BlobStore` contract, run against every implementation: the in-memory fake, the local
filesystem, S3 (moto server), Cloud Storage (fake-gcs-server) and Azure Blob (Azurite)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.core.errors import BlobNotFound, StorageError
from functions.core.settings import Settings
from tests.support.fakes import MemoryBlobStore
from tests.support.gcs import gcs_client

PAGE = 7  # small pages so that listing 25 objects must follow continuation tokens

StoreFactory = Callable[[], Any]


def memory_store(request: pytest.FixtureRequest) -> Any:
    return MemoryBlobStore()


def local_store(request: pytest.FixtureRequest) -> Any:
    from functions.local.store import FileBlobStore

    return FileBlobStore(request.getfixturevalue("tmp_path") / "store")


def s3_store(request: pytest.FixtureRequest) -> Any:
    from functions.aws.store import S3BlobStore

    return S3BlobStore(request.getfixturevalue("s3_bucket"), page_size=PAGE)


def gcs_store(request: pytest.FixtureRequest) -> Any:
    from functions.gcp.store import GCSBlobStore

    return GCSBlobStore(request.getfixturevalue("gcs_bucket"), gcs_client(), page_size=PAGE)


def azure_store(request: pytest.FixtureRequest) -> Any:
    from functions.azure.store import AzureBlobStore

    conn, container = request.getfixturevalue("azure_container")
    settings = Settings(azure_connection_string=conn)
    return AzureBlobStore.from_settings(container, settings, page_size=PAGE)


STORES = {
    "memory": memory_store,
    "local": local_store,
    "s3": s3_store,
    "gcs": gcs_store,
    "azure": azure_store,
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest) -> Any:
    return STORES[request.param](request)


def test_put_then_get_returns_the_bytes(store: Any) -> None:
    store.put("a/b/c.json", b'{"x": 1}')
    assert store.get("a/b/c.json") == b'{"x": 1}'


def test_put_replaces_an_existing_object(store: Any) -> None:
    store.put("k.json", b"1")
    store.put("k.json", b"2")
    assert store.get("k.json") == b"2"


def test_get_of_a_missing_key_raises_blob_not_found(store: Any) -> None:
    with pytest.raises(BlobNotFound):
        store.get("nope/missing.json")


def test_put_if_absent_creates_once_and_never_overwrites(store: Any) -> None:
    assert store.put_if_absent("once.json", b"first") is True
    assert store.put_if_absent("once.json", b"second") is False
    assert store.get("once.json") == b"first"


def test_put_if_absent_has_one_winner_under_a_race(store: Any) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        barrier.wait()
        results.append(store.put_if_absent("race.json", str(n).encode()))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    winner = store.get("race.json")
    assert winner in {str(n).encode() for n in range(8)}


def test_list_pages_through_every_key_under_a_prefix_in_order(store: Any) -> None:
    keys = [f"events/source=s/hour=01/{n:03d}.json" for n in range(25)]
    for key in reversed(keys):
        store.put(key, b"{}")
    store.put("events/source=s/hour=02/x.json", b"{}")
    store.put("events/source=sx/hour=01/y.json", b"{}")
    assert list(store.list("events/source=s/hour=01/")) == keys
    assert len(list(store.list("events/source=s/"))) == 26


def test_list_of_an_empty_prefix_yields_nothing(store: Any) -> None:
    assert list(store.list("events/source=none/")) == []


def test_delete_removes_and_tolerates_a_missing_key(store: Any) -> None:
    store.put("gone.json", b"x")
    store.delete("gone.json")
    store.delete("gone.json")
    with pytest.raises(BlobNotFound):
        store.get("gone.json")


# --- each cloud store turns a missing bucket into a StorageError that names it -------------


def _missing_bucket_stores(request: pytest.FixtureRequest) -> dict[str, StoreFactory]:
    def s3() -> Any:
        from functions.aws.store import S3BlobStore

        request.getfixturevalue("moto")
        return S3BlobStore("no-such-bucket-x")

    def gcs() -> Any:
        from functions.gcp.store import GCSBlobStore

        request.getfixturevalue("fake_gcs")
        return GCSBlobStore("no-such-bucket-x", gcs_client())

    def azure() -> Any:
        from functions.azure.store import AzureBlobStore

        conn, _ = request.getfixturevalue("azure_container")
        return AzureBlobStore.from_settings(
            "no-such-bucket-x", Settings(azure_connection_string=conn)
        )

    return {"s3": s3, "gcs": gcs, "azure": azure}


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_a_missing_bucket_is_a_storage_error_naming_it(
    request: pytest.FixtureRequest, cloud: str
) -> None:
    store = _missing_bucket_stores(request)[cloud]()
    # The whole message: the operation, the key, the store's name, and the cause in words.
    where = {"s3": "s3://", "gcs": "gs://", "azure": "azure://devstoreaccount1/"}[cloud]
    tail = f"in {where}no-such-bucket-x failed: "
    cause = "container does not exist" if cloud == "azure" else "bucket does not exist"
    operations: list[tuple[str, Callable[[], Any]]] = [
        ("put k.json", lambda: store.put_if_absent("k.json", b"{}")),
        ("get k.json", lambda: store.get("k.json")),
        ("put k.json", lambda: store.put("k.json", b"{}")),
        ("list events/", lambda: list(store.list("events/"))),
        ("delete k.json", lambda: store.delete("k.json")),
    ]
    for action, call in operations:
        with pytest.raises(StorageError) as caught:
            call()
        assert str(caught.value) == f"{action} {tail}{cause}", action


def test_the_local_store_ignores_a_half_written_temp_file(tmp_path: Path) -> None:
    from functions.local.store import FileBlobStore

    store = FileBlobStore(tmp_path)
    store.put("events/a.json", b"{}")
    (tmp_path / "events" / ".tmp-deadbeef").write_bytes(b'{"trunc')  # a crash mid-write
    assert list(store.list("events/")) == ["events/a.json"]


def test_list_takes_any_prefix_even_one_that_ends_inside_a_folder_or_file_name(store: Any) -> None:
    for key in ("events/source=a/x.json", "events/source=ab/y.json", "top.json", "tops.json"):
        store.put(key, b"{}")
    assert list(store.list("events/source=a")) == [
        "events/source=a/x.json",
        "events/source=ab/y.json",
    ]
    assert list(store.list("events/sou")) == ["events/source=a/x.json", "events/source=ab/y.json"]
    assert list(store.list("top")) == ["top.json", "tops.json"]
    assert [k for k in store.list("") if k.startswith(("top", "events/"))] == [
        "events/source=a/x.json",
        "events/source=ab/y.json",
        "top.json",
        "tops.json",
    ]


def test_a_gcs_bucket_whose_name_says_bucket_still_reads_a_missing_object_as_absent(
    fake_gcs: Any,
) -> None:
    # GCS names the bucket in a missing object's 404 too; only its words tell the two apart.
    from functions.gcp.store import GCSBlobStore
    from tools import emulators

    name = emulators.unique_bucket("my-bucket")
    gcs_client().create_bucket(name)
    store = GCSBlobStore(name, gcs_client())
    with pytest.raises(BlobNotFound):
        store.get("never-written.json")
    store.delete("never-written.json")  # a missing key is not an error


def test_the_local_store_refuses_keys_that_could_leave_its_folder(tmp_path: Path) -> None:
    from functions.local.store import FileBlobStore

    store = FileBlobStore(tmp_path / "root")
    for key in ("", "/etc/passwd", "a//b.json", "a/./b.json", "a/../../b.json", "..", "a/"):
        with pytest.raises(ValueError, match="invalid object key"):
            store.put(key, b"{}")
    assert not (tmp_path / "b.json").exists()


def test_the_local_sweep_counts_what_it_removed(tmp_path: Path) -> None:
    import os
    import time

    from functions.local.store import TEMP_PREFIX, FileBlobStore

    store = FileBlobStore(tmp_path)
    store.put("events/a.json", b"{}")
    for n in range(3):
        stale = tmp_path / "events" / f"{TEMP_PREFIX}{n}"
        stale.write_bytes(b"half")
        os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert store.sweep_temp() == 3
    assert store.sweep_temp() == 0
    assert list(store.list("events/")) == ["events/a.json"]


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_objects_are_stored_as_json(request: pytest.FixtureRequest, cloud: str) -> None:
    store = STORES[cloud](request)
    store.put("a.json", b"{}")
    assert store.put_if_absent("b.json", b"{}") is True
    for key in ("a.json", "b.json"):
        assert content_type(store, key) == "application/json", (cloud, key)


def content_type(store: Any, key: str) -> str:
    """The object's Content-Type as the cloud itself reports it."""
    if store.name.startswith("s3://"):
        import boto3

        return str(boto3.client("s3").head_object(Bucket=store.bucket, Key=key)["ContentType"])
    if store.name.startswith("gs://"):
        return str(gcs_client().bucket(store.bucket).get_blob(key).content_type)
    return str(
        store._container.get_blob_client(key).get_blob_properties().content_settings.content_type
    )
