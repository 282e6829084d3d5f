"""Azure Blob Storage behind the `BlobStore` port (azure-storage-blob, imported when built;
docs/architecture.md, storage)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from functions.core.errors import BlobNotFound, StorageError
from functions.core.settings import AZURE_ACCOUNT_URL, Settings, require

ERROR_TEXT = {
    "ContainerNotFound": "container does not exist",
    "AuthorizationFailure": "access denied",
    "AuthorizationPermissionMismatch": "access denied",
    "AuthenticationFailed": "invalid credentials",
}
POOL_SIZE = 64


class AzureBlobStore:
    def __init__(self, container_client: Any, page_size: int = 1000) -> None:
        from azure.core import exceptions

        self._exceptions = exceptions
        self._container = container_client
        self.container = container_client.container_name
        self.name = f"azure://{container_client.account_name}/{self.container}"
        self._page_size = page_size

    @classmethod
    def from_settings(
        cls, container: str, settings: Settings, page_size: int = 1000
    ) -> AzureBlobStore:
        """A connection string (Azurite, or a key-based deployment) when one is configured;
        otherwise the account URL with the function app's managed identity."""
        from azure.storage.blob import ContainerClient

        transport = _pooled_transport()
        if settings.azure_connection_string:
            client = ContainerClient.from_connection_string(
                settings.azure_connection_string, container, transport=transport
            )
        else:
            from azure.identity import DefaultAzureCredential

            url = require(settings.azure_account_url, AZURE_ACCOUNT_URL)
            client = ContainerClient(
                url, container, credential=DefaultAzureCredential(), transport=transport
            )
        return cls(client, page_size)

    def _error(self, exc: Exception, action: str, key: str) -> StorageError:
        code = str(getattr(exc, "error_code", "") or "")
        text = ERROR_TEXT.get(code, f"{type(exc).__name__}: {exc}".splitlines()[0])
        return StorageError(f"{action} {key} in {self.name} failed: {text}")

    def put(self, key: str, data: bytes) -> None:
        try:
            self._container.upload_blob(key, data, overwrite=True, content_settings=_json_content())
        except self._exceptions.AzureError as exc:
            raise self._error(exc, "put", key) from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        from azure.core import MatchConditions

        try:
            # IfMissing is sent as `If-None-Match: *`: Blob Storage's own create-if-absent
            # precondition.
            self._container.upload_blob(
                key,
                data,
                overwrite=True,
                match_condition=MatchConditions.IfMissing,
                content_settings=_json_content(),
            )
            return True
        except (self._exceptions.ResourceExistsError, self._exceptions.ResourceModifiedError):
            return False
        except self._exceptions.AzureError as exc:
            raise self._error(exc, "put", key) from exc

    def get(self, key: str) -> bytes:
        try:
            data: bytes = self._container.download_blob(key).readall()
            return data
        except self._exceptions.ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "BlobNotFound":
                raise BlobNotFound(key) from exc
            raise self._error(exc, "get", key) from exc
        except self._exceptions.AzureError as exc:
            raise self._error(exc, "get", key) from exc

    def list(self, prefix: str) -> Iterator[str]:
        try:
            for blob in self._container.list_blobs(
                name_starts_with=prefix, results_per_page=self._page_size
            ):
                yield blob.name
        except self._exceptions.AzureError as exc:
            raise self._error(exc, "list", prefix) from exc

    def delete(self, key: str) -> None:
        try:
            self._container.delete_blob(key)
        except self._exceptions.ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) != "BlobNotFound":
                raise self._error(exc, "delete", key) from exc
        except self._exceptions.AzureError as exc:
            raise self._error(exc, "delete", key) from exc


def _json_content() -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type="application/json")


def _pooled_transport() -> Any:
    # The SDK's default pool holds 10 connections; /query fetches up to 32 blobs at once.
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False)
