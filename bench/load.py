"""A load generator process: `concurrency` clients POSTing webhooks for `seconds`.

    .venv/bin/python -m bench.load URL --concurrency 16 --seconds 5

Prints one JSON line: requests, errors, throughput and latency percentiles. The request loop is
bounded by both count and time and only ever targets the URL it is given (a local server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

MAX_REQUESTS = 200_000


async def client(
    base: str,
    path: str,
    deadline: float,
    latencies: list[float],
    errors: list[int],
    http: httpx.AsyncClient,
) -> None:
    n = 0
    while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS:
        n += 1
        start = time.perf_counter()
        try:
            response = await http.post(f"{base}{path}", json={"n": n, "bench": True})
            if response.status_code >= 300:
                errors.append(response.status_code)
        except httpx.HTTPError:
            errors.append(0)
        latencies.append((time.perf_counter() - start) * 1000)


async def run(base: str, path: str, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(client(base, path, deadline, latencies, errors, http) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": len(errors),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--path", default="/webhook/bench")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.base_url, args.path, args.concurrency, args.seconds))))


if __name__ == "__main__":
    main()
