"""`python -m functions.local.compact`: compact the local store's closed hours (what the
clouds' hourly schedules do). Safe to run at any time and to re-run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from functions.core.app import utc_now
from functions.core.compaction import LOOKBACK_HOURS, Compactor
from functions.core.settings import Settings
from functions.local.store import FileBlobStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lookback-hours", type=int, default=LOOKBACK_HOURS)
    args = parser.parse_args()
    settings = Settings.from_env()
    compactor = Compactor(
        FileBlobStore(Path(settings.data_dir), settings.sync), utc_now, settings.memory_mb
    )
    print(json.dumps(compactor.run(args.lookback_hours)))


if __name__ == "__main__":
    main()
