"""Smoke test a deployment: `make smoke URL="$(pulumi stack output base_url)"`.

Exercises every route against the base URL (health, peers, a webhook round trip read back
through /query, bad input rejected) and exits non-zero with a readable report at the first
failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx


class SmokeFailure(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def check_health(http: httpx.Client) -> str:
    response = http.get("/health")
    expect(response.status_code == 200, f"/health answered {response.status_code}")
    body = response.json()
    expect(body.get("status") == "ok", f"/health body {body}")
    return f"adapter={body.get('adapter')} version={body.get('version')}"


TOKEN_HINT = "pulumi stack output --stack <stack> --show-secrets read_token"


def check_token(http: httpx.Client) -> str:
    """The reader checks below need the stack's read token: say so when it is missing or
    refused, rather than report a body mismatch further on."""
    expect("authorization" in http.headers, f"no read token given: TOKEN=$({TOKEN_HINT})")
    response = http.get("/query", params={"source": "smoke", "date": "2026-01-01"})
    expect(
        response.status_code != 401,
        f"the read token was refused (401): pass this deployment's, $({TOKEN_HINT})",
    )
    expect(response.status_code == 200, f"/query answered {response.status_code}")
    return "the deployment accepts it"


def check_peers(http: httpx.Client) -> str:
    anonymous = http.get("/peers", headers={"authorization": ""})
    expect(anonymous.status_code == 200, f"/peers answered {anonymous.status_code}")
    expect("peers" not in anonymous.json(), "/peers shows peer URLs to anyone")
    response = http.get("/peers")
    peers = response.json().get("peers")
    expect(isinstance(peers, list), f"/peers body for a reader {response.text[:200]}")
    return f"{len(peers)} peer(s), URLs and backlog for readers only"


def check_reads_need_the_token(http: httpx.Client) -> str:
    params = {"source": "smoke", "date": "2026-01-01"}
    for auth in ("", "Bearer not-the-token"):
        response = http.get("/query", params=params, headers={"authorization": auth})
        expect(response.status_code == 401, f"/query without the token: {response.status_code}")
    return "/query refuses a missing or wrong token"


def check_round_trip(http: httpx.Client) -> str:
    marker = uuid.uuid4().hex
    response = http.post("/webhook/smoke", json={"smoke": marker})
    expect(
        response.status_code == 201,
        f"POST /webhook/smoke answered {response.status_code}: {response.text[:300]}",
    )
    stored = response.json()
    day, hour = stored["received_at"][:10], stored["received_at"][11:13]
    for _ in range(10):  # eventual consistency is not expected, but do not flake on a blip
        rows = http.get(
            "/query", params={"source": "smoke", "date": day, "hour": hour, "limit": 1000}
        )
        expect(rows.status_code == 200, f"/query answered {rows.status_code}: {rows.text[:300]}")
        if any(row.get("id") == stored["id"] for row in rows.json()["rows"]):
            return f"stored {stored['key']} and read it back"
        time.sleep(0.5)
    raise SmokeFailure(f"event {stored['id']} was stored but /query did not return it")


def check_bad_input(http: httpx.Client) -> str:
    response = http.post(
        "/webhook/bad%2Fsource", content=b"{}", headers={"content-type": "application/json"}
    )
    expect(response.status_code == 400, f"a bad source answered {response.status_code}")
    expect("error" in response.json(), f"error body {response.text[:200]}")
    response = http.post(
        "/webhook/smoke", content=b"{not json", headers={"content-type": "application/json"}
    )
    expect(response.status_code == 400, f"malformed JSON answered {response.status_code}")
    return "400s with the JSON error shape"


CHECKS: list[tuple[str, Callable[[httpx.Client], str]]] = [
    ("health", check_health),
    ("read token", check_token),
    ("peers", check_peers),
    ("reads need the token", check_reads_need_the_token),
    ("webhook round trip", check_round_trip),
    ("bad input rejected", check_bad_input),
]


def run(base_url: str, token: str = "", out: Any = sys.stdout, timeout: float = 30.0) -> int:
    print(f"smoke test of {base_url}", file=out)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers) as http:
        for name, check in CHECKS:
            try:
                detail = check(http)
            except (SmokeFailure, httpx.HTTPError, ValueError, KeyError) as exc:
                print(f"  FAIL {name}: {type(exc).__name__}: {exc}", file=out)
                return 1
            print(f"  ok   {name}: {detail}", file=out)
    print("all checks passed", file=out)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument(
        "--token",
        default=os.environ.get("LAMBDA_READ_TOKEN", ""),
        help="the read token (pulumi stack output --show-secrets read_token)",
    )
    args = parser.parse_args()
    sys.exit(run(args.base_url, args.token))


if __name__ == "__main__":
    main()
