"""`make replay FROM=<time> TO=<time> [SOURCE=] [PEER=] [MEMBER=]`: re-deliver the stored events
of a time range through the outbox, at every member (or one), to every peer (or one). Prints
how many each member queued. Receivers store once: replaying twice changes nothing there.
See docs/peers.md (replay).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from scripts.members import NoMembers, post_each, resolve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="start", required=True, help="ISO 8601, with a zone")
    parser.add_argument("--to", dest="end", required=True, help="ISO 8601, with a zone")
    parser.add_argument("--source", default=None)
    parser.add_argument("--peer", default=None, help="one peer URL (default: every peer)")
    parser.add_argument("--member", default=None, help="one member (default: every member)")
    parser.add_argument("--members", choices=("auto", "mesh", "stacks"), default="auto")
    args = parser.parse_args(argv)
    try:
        members = [m for m in resolve(args.members) if args.member in (None, m.name)]
    except NoMembers as exc:
        print(f"make replay: {exc}", file=sys.stderr)
        return 2
    if not members:
        print(f"make replay: no member is named {args.member!r}", file=sys.stderr)
        return 2
    ask = {"from": args.start, "to": args.end, "source": args.source, "peer": args.peer}
    body = {name: value for name, value in ask.items() if value is not None}
    failed = post_each(members, "/internal/replay", 300, json=body)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
