from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.local.store import FileBlobStore
from tests.support.fakes import MemoryBlobStore


@pytest.fixture(params=["memory", "local", "s3", "gcs", "azure"])
def every_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The in-memory fake, the local store, and each cloud store on its emulator."""
    if request.param == "memory":
        return MemoryBlobStore()
    if request.param == "local":
        return FileBlobStore(tmp_path / "s")
    from tests.contract.test_blobstore_contract import STORES

    return STORES[request.param](request)
