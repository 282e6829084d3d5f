"""`python -m functions.local.requeue`: put the local outbox's dead letters back in the outbox,
due now; the server's retry loop delivers them (what `POST /internal/outbox/requeue` does on
the clouds)."""

from __future__ import annotations

import json
from pathlib import Path

from functions.core.app import utc_now
from functions.core.outbox import Outbox
from functions.core.settings import Settings
from functions.local.store import FileBlobStore


def main() -> None:
    settings = Settings.from_env()
    outbox = Outbox(
        FileBlobStore(Path(settings.data_dir), settings.sync),
        settings.outbox_max_attempts,
        settings.outbox_backoff_s,
    )
    print(json.dumps({"requeued": outbox.requeue(utc_now())}))


if __name__ == "__main__":
    main()
