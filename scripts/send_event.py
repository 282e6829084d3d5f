"""Sign an event envelope as a peer would and post it to `/internal/event`.

    python -m scripts.send_event URL --secret KEY [--source demo] [--payload '{"n": 1}']
    python -m scripts.send_event URL --secret KEY --file envelope.json

The receiver must accept KEY: its own LAMBDA_PEER_SECRET when it has no LAMBDA_PEER_KEYS, or
one of those. Prints the status and the receiver's JSON answer; exits 1 on any non-2xx.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.core.events import Envelope, uuid7
from functions.core.signing import PeerSigner


def envelope(source: str, payload: Any, now: datetime, origin: str) -> dict[str, Any]:
    return Envelope(uuid7(now), source, now, origin, payload).to_dict()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{url.rstrip('/')}/internal/event", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--secret", required=True, help="the key the receiver accepts")
    parser.add_argument("--source", default="demo")
    parser.add_argument("--payload", default='{"hello": "peer"}', help="JSON")
    parser.add_argument("--origin", default="cli")
    parser.add_argument("--file", type=Path, help="send this envelope instead")
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    if args.file:
        data = json.loads(args.file.read_text())
    else:
        data = envelope(args.source, json.loads(args.payload), now, args.origin)
    body = json.dumps(data).encode()
    headers = PeerSigner(args.secret).headers(data["id"], body, now)
    status, answer = post(args.url, body, headers)
    print(status, answer)
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
