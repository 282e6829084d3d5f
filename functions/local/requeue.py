"""`python -m functions.local.requeue`: put the local outbox's dead letters back in the outbox,
due now; the server's retry loop delivers them (what `POST /internal/outbox/requeue` does on
the clouds)."""

from __future__ import annotations

import json

from functions.core.services import Services
from functions.core.settings import Settings
from functions.local.server import local_store


def main() -> None:
    settings = Settings.from_env()
    # Without peers there is no fan-out, so requeue the outbox whatever the settings say.
    services = Services(settings, "local", lambda: local_store(settings))
    print(json.dumps({"requeued": services.outbox().requeue(services.clock())}))


if __name__ == "__main__":
    main()
