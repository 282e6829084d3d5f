"""A bucket with default Object Lock retention refuses a put without a checksum header (S3:
"Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object
Lock parameters"; moto's server enforces the same rule). The store signs its bodies instead of
sending a CRC32 (functions/aws/store.py), and sends one from the first refusal on."""

from __future__ import annotations

import boto3
import pytest

from functions.aws.store import S3BlobStore
from tools import emulators
from tools.processes import Server


@pytest.fixture
def locked_bucket(moto: Server) -> str:
    name = emulators.unique_bucket("locked")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    return name


def test_puts_into_a_bucket_with_object_lock_retention_are_stored(locked_bucket: str) -> None:
    store = S3BlobStore(locked_bucket)
    store.put("events/a.json", b'{"a": 1}')  # refused without a checksum, then sent with one
    assert store.put_if_absent("events/b.json", b'{"b": 2}') is True
    assert store.put_if_absent("events/b.json", b'{"b": 3}') is False
    assert store.get("events/a.json") == b'{"a": 1}'
    assert store.get("events/b.json") == b'{"b": 2}'


def test_an_unlocked_bucket_gets_no_checksum_header(s3_bucket: str) -> None:
    store = S3BlobStore(s3_bucket)
    sent: list[dict[str, str]] = []
    store._client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers))
    )
    store.put("events/a.json", b"{}")
    assert not any(h.lower().startswith("x-amz-checksum-") for h in sent[0]), sent
    assert not any(h.lower() == "content-md5" for h in sent[0]), sent
