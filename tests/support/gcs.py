"""A Cloud Storage client of the emulator that the `fake_gcs` fixture started."""

from __future__ import annotations

import os
from typing import Any


def gcs_client() -> Any:
    """The fixture sets STORAGE_EMULATOR_HOST (the SDK's own switch); the product reads it
    through Settings, tests read it here."""
    from functions.gcp.store import _client

    return _client(os.environ["STORAGE_EMULATOR_HOST"])
