"""`make status`: every member of the mesh side by side: reachable, version, outbox backlog and
dead letters per peer, items set aside as damaged, the last reconcile and the hours it still
found different. `--json` for scripts; `--event ID` shows where one event is stored and, at
its origin, its delivery state per peer. See docs/peers.md.

    .venv/bin/python -m scripts.status [--json] [--event ID] [--source auto|mesh|stacks]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from scripts.members import Member, NoMembers, resolve

TIMEOUT_S = 10.0


def _get(client: httpx.Client, member: Member, path: str, **params: str) -> Any:
    headers = {"authorization": f"Bearer {member.read_token}"} if member.read_token else {}
    response = client.get(f"{member.url}{path}", params=params, headers=headers)
    response.raise_for_status()
    return response.json()


def member_status(client: httpx.Client, member: Member) -> dict[str, Any]:
    """One member's row; an answer of an unexpected shape is reported, never a crash."""
    try:
        health, peers = _get(client, member, "/health"), _get(client, member, "/peers")
        if not isinstance(health, dict) or not isinstance(peers, dict):
            raise ValueError("an answer that is not a JSON object")
    except (httpx.HTTPError, ValueError) as exc:
        return {"member": member.name, "url": member.url, "reachable": False, "error": str(exc)}
    found = peers.get("reconcile")
    last: dict[str, Any] = found if isinstance(found, dict) else {}
    runs: dict[str, Any] = last["peers"] if isinstance(last.get("peers"), dict) else {}
    return {
        "member": member.name,
        "url": member.url,
        "reachable": True,
        "version": health.get("version"),
        "origin": health.get("origin"),
        "peers": [p for p in peers.get("peers") or [] if isinstance(p, dict)],
        "quarantined": peers.get("quarantined"),
        "last_reconcile": last.get("at"),
        # per peer: the hours the last run could not bring into agreement (None: unreachable)
        "hours_different": {
            url: p.get("still_different") if isinstance(p, dict) and p.get("reachable") else None
            for url, p in runs.items()
        },
    }


def event_status(client: httpx.Client, members: Sequence[Member], event_id: str) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for member in members:
        try:
            answer = _get(client, member, "/query", id=event_id)
        except (httpx.HTTPError, ValueError) as exc:
            where[member.name] = {"reachable": False, "error": str(exc)}
            continue
        entry: dict[str, Any] = {"stored": answer.get("count", 0) > 0}
        if "delivery" in answer:
            entry["delivery"] = answer["delivery"]
        where[member.name] = entry
    return {"event": event_id, "members": where}


def _count(value: Any) -> int:
    return value if isinstance(value, int) else 0


def table(rows: list[dict[str, Any]]) -> str:
    """A line per member, then a line per peer of it: backlog, dead letters and the hours its
    last reconcile left different."""
    lines = [f"{'member':<8} {'reachable':<9} {'version':<8} {'damaged':>7}  last reconcile"]
    for row in rows:
        if not row["reachable"]:
            lines.append(f"{row['member']:<8} {'no':<9} {row['error'][:80]}")
            continue
        damaged = "-" if row["quarantined"] is None else str(row["quarantined"])
        lines.append(
            f"{row['member']:<8} {'yes':<9} {row['version'] or '-':<8} {damaged:>7}  "
            f"{row['last_reconcile'] or 'never'}"
        )
        for peer in row["peers"]:
            different = row["hours_different"].get(peer.get("url"), "-")
            lines.append(
                f"  -> {peer.get('url')!s:<40} pending {_count(peer.get('pending')):>5}  "
                f"dead {_count(peer.get('dead')):>4}  hours different "
                f"{'-' if different is None else different}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--event", default="")
    parser.add_argument("--source", choices=("auto", "mesh", "stacks"), default="auto")
    args = parser.parse_args(argv)
    try:
        members = resolve(args.source)
    except NoMembers as exc:
        print(f"make status: {exc}", file=sys.stderr)
        return 2
    with httpx.Client(timeout=TIMEOUT_S) as client:
        if args.event:
            report: Any = event_status(client, members, args.event)
        else:
            report = [member_status(client, member) for member in members]
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.event:
        for name, entry in report["members"].items():
            print(f"{name:<8} {json.dumps(entry)}")
    else:
        print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
