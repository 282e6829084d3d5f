"""`make reconcile [DAYS=N]`: one anti-entropy run on every member (the local mesh's, or the
deployed stacks'), as their hourly schedules do; DAYS widens the window for a backfill. Prints
each member's report. See docs/peers.md (anti-entropy).

    .venv/bin/python -m scripts.reconcile [--days N] [--source auto|mesh|stacks]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import httpx

from scripts.members import NoMembers, resolve

TIMEOUT_S = 900.0  # a backfill of months may take minutes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--source", choices=("auto", "mesh", "stacks"), default="auto")
    args = parser.parse_args(argv)
    try:
        members = resolve(args.source)
    except NoMembers as exc:
        print(f"make reconcile: {exc}", file=sys.stderr)
        return 2
    failed = 0
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for member in members:
            params = {"days": str(args.days)} if args.days else {}
            response = client.post(
                f"{member.url}/internal/reconcile",
                params=params,
                headers={"authorization": f"Bearer {member.jobs_token}"},
            )
            failed += response.status_code != 200
            print(json.dumps({"member": member.name, "status": response.status_code,
                              "report": response.json()}))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
