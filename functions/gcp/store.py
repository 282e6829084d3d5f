"""Cloud Storage behind the `BlobStore` port (google-cloud-storage, imported when built;
docs/architecture.md, storage)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from functions.core.errors import BlobNotFound, StorageError

ERROR_TEXT = {404: "bucket does not exist", 403: "access denied", 401: "invalid credentials"}


class GCSBlobStore:
    def __init__(
        self,
        bucket: str,
        client: Any = None,
        page_size: int = 1000,
        emulator_host: str | None = None,
    ) -> None:
        from google.api_core import exceptions

        if client is None:
            client = _client(emulator_host)
        self._exceptions = exceptions
        self._client = client
        self._bucket = client.bucket(bucket)
        self.bucket = bucket
        self.name = f"gs://{bucket}"
        self._page_size = page_size
        self._bucket_seen = False

    def _error(self, exc: Exception, action: str, key: str) -> StorageError:
        text = ERROR_TEXT.get(getattr(exc, "code", 0) or 0, f"{type(exc).__name__}: {exc}")
        return StorageError(f"{action} {key} in {self.name} failed: {text}")

    def put(self, key: str, data: bytes) -> None:
        try:
            self._bucket.blob(key).upload_from_string(data, content_type="application/json")
        except self._exceptions.GoogleAPIError as exc:
            raise self._error(exc, "put", key) from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            # Generation 0 means "no live object": GCS's own create-if-absent precondition.
            self._bucket.blob(key).upload_from_string(
                data, content_type="application/json", if_generation_match=0
            )
            return True
        except self._exceptions.PreconditionFailed:
            return False
        except self._exceptions.GoogleAPIError as exc:
            raise self._error(exc, "put", key) from exc

    def get(self, key: str) -> bytes:
        try:
            data: bytes = self._bucket.blob(key).download_as_bytes()
            return data
        except self._exceptions.NotFound as exc:
            if self._is_missing_object():
                raise BlobNotFound(key) from exc
            raise self._error(exc, "get", key) from exc
        except self._exceptions.GoogleAPIError as exc:
            raise self._error(exc, "get", key) from exc

    def _is_missing_object(self) -> bool:
        """An object's 404 means the object is absent, or the whole bucket is (a misconfigured
        deployment). Its text cannot tell them apart (the URL in it names the bucket, whose own
        name may say "bucket"), so the bucket is asked, with a one-key listing the function's
        object-only role allows; once seen, it is taken to stay for this instance."""
        if not self._bucket_seen:
            try:
                next(iter(self._client.list_blobs(self.bucket, max_results=1)), None)
            except self._exceptions.NotFound:
                return False
            self._bucket_seen = True
        return True

    def list(self, prefix: str) -> Iterator[str]:
        try:
            for blob in self._client.list_blobs(
                self.bucket, prefix=prefix, page_size=self._page_size
            ):
                yield blob.name
        except self._exceptions.GoogleAPIError as exc:
            raise self._error(exc, "list", prefix) from exc

    def delete(self, key: str) -> None:
        try:
            self._bucket.blob(key).delete()
        except self._exceptions.NotFound as exc:
            if not self._is_missing_object():
                raise self._error(exc, "delete", key) from exc
        except self._exceptions.GoogleAPIError as exc:
            raise self._error(exc, "delete", key) from exc


def _client(emulator_host: str | None = None) -> Any:
    from google.cloud import storage

    # STORAGE_EMULATOR_HOST is the SDK's own switch to an emulator (the SDK reads it for the
    # endpoint; Settings reads it for us): an emulator needs no credentials.
    if emulator_host:
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project="emulator", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    return storage.Client()
