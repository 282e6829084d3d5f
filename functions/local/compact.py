"""`python -m functions.local.compact`: compact the local store's closed hours (what the
clouds' hourly schedules do). Safe to run at any time and to re-run."""

from __future__ import annotations

import argparse
import json

from functions.core.compaction import LOOKBACK_HOURS, Compactor
from functions.core.errors import ConfigError
from functions.core.services import utc_now
from functions.core.settings import Settings
from functions.local.server import fail, local_store, usable_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lookback-hours", type=int, default=LOOKBACK_HOURS)
    args = parser.parse_args()
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        fail(str(exc))
    usable_data_dir(settings)
    compactor = Compactor(local_store(settings), utc_now, settings.memory_mb)
    print(json.dumps(compactor.run(args.lookback_hours)))


if __name__ == "__main__":
    main()
