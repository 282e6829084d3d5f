"""S3's conditional create (`If-None-Match: *`) as S3 answers it, with botocore's own Stubber
returning the documented errors (S3 User Guide, "Conditional writes": 412 PreconditionFailed
when the key exists, 409 ConditionalRequestConflict while another conditional write to the key
is in flight, "retry the request"). moto answers neither 409 nor a concurrent write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from functions.aws.store import CONFLICT_RETRIES, S3BlobStore
from functions.core.errors import StorageError

PUT = {
    "Bucket": "b",
    "Key": "idempotency/k.json",
    "Body": ANY,
    "ContentType": "application/json",
    "IfNoneMatch": "*",
}


@pytest.fixture
def stubbed() -> Iterator[tuple[S3BlobStore, Stubber]]:
    client: Any = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield S3BlobStore("b", client), stubber
        stubber.assert_no_pending_responses()


def conflict(stubber: Stubber) -> None:
    stubber.add_client_error(
        "put_object", "ConditionalRequestConflict", http_status_code=409, expected_params=PUT
    )


def test_a_conditional_create_of_a_new_key_is_true(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_response("put_object", {"ETag": '"e"'}, PUT)
    assert store.put_if_absent("idempotency/k.json", b"{}") is True


def test_an_existing_key_is_false_and_not_an_error(stubbed: tuple[S3BlobStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error(
        "put_object", "PreconditionFailed", http_status_code=412, expected_params=PUT
    )
    assert store.put_if_absent("idempotency/k.json", b"{}") is False


def test_a_conflicting_write_in_flight_is_retried_until_it_settles(
    stubbed: tuple[S3BlobStore, Stubber],
) -> None:
    store, stubber = stubbed
    for _ in range(CONFLICT_RETRIES):
        conflict(stubber)
    stubber.add_client_error(
        "put_object", "PreconditionFailed", http_status_code=412, expected_params=PUT
    )
    assert store.put_if_absent("idempotency/k.json", b"{}") is False  # the other write won


def test_a_conflict_that_never_settles_is_a_storage_error_after_the_retries(
    stubbed: tuple[S3BlobStore, Stubber],
) -> None:
    store, stubber = stubbed
    for _ in range(CONFLICT_RETRIES + 1):
        conflict(stubber)
    with pytest.raises(StorageError) as caught:
        store.put_if_absent("idempotency/k.json", b"{}")
    assert str(caught.value).startswith("put idempotency/k.json in s3://b failed: ClientError")
    assert "ConditionalRequestConflict" in str(caught.value)


def test_any_other_error_is_a_storage_error_at_once_in_words(
    stubbed: tuple[S3BlobStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_client_error(
        "put_object", "AccessDenied", http_status_code=403, expected_params=PUT
    )
    with pytest.raises(StorageError) as caught:
        store.put_if_absent("idempotency/k.json", b"{}")
    assert str(caught.value) == "put idempotency/k.json in s3://b failed: access denied"


def test_an_unreachable_endpoint_is_a_storage_error_naming_the_sdks_error() -> None:
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:1",  # nothing listens there
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(StorageError) as caught:
        S3BlobStore("b", client).put("k.json", b"{}")
    assert str(caught.value).startswith("put k.json in s3://b failed: EndpointConnectionError")


def test_the_default_client_pools_enough_connections_for_a_querys_concurrent_reads() -> None:
    from functions.core.query import FETCH_WORKERS

    store = S3BlobStore("b")
    assert store._client.meta.config.max_pool_connections == 64 >= FETCH_WORKERS
