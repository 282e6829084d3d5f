"""S3 behind the `BlobStore` port (botocore, functions/aws/sdk.py, imported only when the store
is built)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from functions.core.errors import BlobNotFound, StorageError

# S3 error codes that mean "this deployment is misconfigured", with the text we log.
ERROR_TEXT = {
    "NoSuchBucket": "bucket does not exist",
    "AccessDenied": "access denied",
    "AllAccessDisabled": "access disabled",
    "InvalidAccessKeyId": "invalid credentials",
    "SignatureDoesNotMatch": "invalid credentials",
}
CONFLICT_RETRIES = 3
# A bucket with default Object Lock retention refuses a put that carries no checksum header: a
# signed body does not count. S3 answers InvalidRequest ("Content-MD5 OR x-amz-checksum- HTTP
# header is required for Put Object requests with Object Lock parameters"); moto names it.
OBJECT_LOCK_CODES = {"MissingUploadObjectWithObjectLockHeaders"}
OBJECT_LOCK_TEXT = "Object Lock"


class S3BlobStore:
    def __init__(self, bucket: str, client: Any = None, page_size: int = 1000) -> None:
        if client is None:
            from functions.aws import sdk

            # One client per warm instance; the pool is sized for /query's concurrent GETs.
            client = sdk.client(
                "s3",
                max_pool_connections=64,
                retries={"mode": "standard"},
                # No CRC32 on writes where S3 does not ask for one: the body is then signed
                # (SigV4's payload SHA-256, which S3 checks) instead, so integrity holds at
                # less CPU per put (docs/deploying.md, cold starts). Reads still check S3's
                # checksums.
                request_checksum_calculation="when_required",
            )
        from botocore.exceptions import BotoCoreError, ClientError

        self._client = client
        self._client_error = ClientError
        self._sdk_errors = (ClientError, BotoCoreError)
        self.bucket = bucket
        self.name = f"s3://{bucket}"
        self._page_size = page_size
        self._checksum: dict[str, str] = {}  # {"ChecksumAlgorithm": "CRC32"} once S3 asks

    def close_connections(self) -> None:
        """Drop the client's pooled connections (SnapStart, functions/aws/snapstart.py)."""
        from functions.aws import sdk

        sdk.close(self._client)

    def _error(self, exc: Exception, action: str, key: str) -> StorageError:
        code = _code(exc)
        text = ERROR_TEXT.get(code, f"{type(exc).__name__}: {exc}")
        return StorageError(f"{action} {key} in {self.name} failed: {text}")

    def _put_object(self, key: str, data: bytes, **extra: str) -> None:
        """One PutObject; with a CRC32 from the first time the bucket asks for a checksum
        (Object Lock), for the rest of this instance's life."""
        args = {"Bucket": self.bucket, "Key": key, "Body": data, "ContentType": "application/json"}
        try:
            self._client.put_object(**args, **extra, **self._checksum)
        except self._client_error as exc:
            if self._checksum or not _wants_checksum(exc):
                raise
            self._checksum = {"ChecksumAlgorithm": "CRC32"}
            self._client.put_object(**args, **extra, **self._checksum)

    def put(self, key: str, data: bytes) -> None:
        try:
            self._put_object(key, data)
        except self._sdk_errors as exc:
            raise self._error(exc, "put", key) from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._put_object(key, data, IfNoneMatch="*")
                return True
            except self._sdk_errors as exc:
                code = _code(exc)
                if code == "PreconditionFailed":
                    return False
                # 409: another conditional write to this key is in flight; S3 says retry.
                if code != "ConditionalRequestConflict" or attempt == CONFLICT_RETRIES:
                    raise self._error(exc, "put", key) from exc
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def get(self, key: str) -> bytes:
        try:
            body: bytes = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return body
        except self._sdk_errors as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                raise BlobNotFound(key) from exc
            raise self._error(exc, "get", key) from exc

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self._page_size}
        )
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    yield item["Key"]
        except self._sdk_errors as exc:
            raise self._error(exc, "list", prefix) from exc

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except self._sdk_errors as exc:
            raise self._error(exc, "delete", key) from exc


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _wants_checksum(exc: Exception) -> bool:
    error = (getattr(exc, "response", None) or {}).get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    return code in OBJECT_LOCK_CODES or (code == "InvalidRequest" and OBJECT_LOCK_TEXT in message)
