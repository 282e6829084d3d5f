"""`make reconcile [DAYS=N]`: one anti-entropy run on every member (the local mesh's, or the
deployed stacks'), as their hourly schedules do; DAYS widens the window for a backfill. Prints
each member's report. See docs/peers.md (anti-entropy).

    .venv/bin/python -m scripts.reconcile [--days N] [--source auto|mesh|stacks]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from scripts.members import NoMembers, post_each, resolve

TIMEOUT_S = 900.0  # a backfill of months may take minutes


def _days(text: str) -> int:
    days = int(text)
    if not 1 <= days <= 3660:
        raise argparse.ArgumentTypeError("DAYS must be from 1 to 3660")
    return days


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=_days, default=None, help="1 to 3660")
    parser.add_argument("--source", choices=("auto", "mesh", "stacks"), default="auto")
    args = parser.parse_args(argv)
    try:
        members = resolve(args.source)
    except NoMembers as exc:
        print(f"make reconcile: {exc}", file=sys.stderr)
        return 2
    params = {"days": str(args.days)} if args.days else {}
    failed = post_each(members, "/internal/reconcile", TIMEOUT_S, params=params)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
