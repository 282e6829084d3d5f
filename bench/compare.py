"""`make serve` setups side by side, differing only in environment settings: how its choices
of settings were measured (the number of processes, say; docs/benchmarks.md), so that anyone
can measure them again on their own machine.

Each setup runs as its own server, as the ingest bench starts one (`bench.fanout.local`: INFO
logging, no peers, each event durable before its 201). wrk runs are taken in turns, round
after round (`bench.rounds`), and each setup is given as the median, over the rounds, of its
throughput over the first setup's in the same round: on a host whose speed drifts from one
minute to the next, a ratio within a round means more than a ratio of medians.

    .venv/bin/python -m bench.compare --clients 16 --rounds 6 LAMBDA_WORKERS=2 LAMBDA_WORKERS=4

A setup is `NAME=VALUE` settings joined by commas, or `default` for none.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench import fanout, rounds

DEFAULT = "default"


def parse(setup: str) -> dict[str, str]:
    """`NAME=VALUE[,NAME=VALUE...]` or `default` -> the environment it adds."""
    if setup == DEFAULT:
        return {}
    env: dict[str, str] = {}
    for item in setup.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"a setup is NAME=VALUE[,NAME=VALUE...] or {DEFAULT}, not {setup!r}")
        env[name.strip()] = value.strip()
    return env


def summary(samples: rounds.Samples, setups: list[str], clients: int) -> list[dict[str, Any]]:
    """Per setup: its median throughput and p99, and its median ratio to the first setup's
    throughput within each round."""
    base = [s["rps"] for s in samples[(setups[0], clients)]]
    rows = []
    for setup in setups:
        runs = samples[(setup, clients)]
        rps = [s["rps"] for s in runs]
        rows.append(
            {
                "setup": setup,
                "clients": clients,
                "rps": rps,
                "median_rps": round(statistics.median(rps), 1),
                "median_p99_ms": round(statistics.median(s["p99_ms"] for s in runs), 2),
                "ratio": round(statistics.median(r / b for r, b in zip(rps, base, strict=True)), 3),
                "errors": sum(s["errors"] for s in runs),
            }
        )
    return rows


def compare(setups: list[str], clients: int, runs: int, seconds: float) -> list[dict[str, Any]]:
    envs = {setup: parse(setup) for setup in setups}  # a bad setup fails before any server
    with tempfile.TemporaryDirectory(prefix="lambda-compare-") as tmp:
        work = Path(tmp)
        servers = {}
        try:
            for n, setup in enumerate(setups):
                servers[setup] = fanout.local(f"setup{n}", work, [], extra=envs[setup])
            samples = rounds.interleaved(servers, (clients,), seconds, runs)
        finally:
            for server in servers.values():
                server.stop()
    return summary(samples, setups, clients)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("setups", nargs="+", help=f"NAME=VALUE[,NAME=VALUE...] or {DEFAULT}")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    if len(set(args.setups)) != len(args.setups):
        parser.error("each setup once")
    try:
        rows = compare(args.setups, args.clients, args.rounds, args.seconds)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s, in turns:")
    for row in rows:
        print(
            f"  {row['setup']}: median {row['median_rps']:,.0f}/s, p99 {row['median_p99_ms']} ms, "
            f"x{row['ratio']:.3f} the first (median of rounds); "
            f"rounds {[round(r) for r in row['rps']]}, errors {row['errors']}"
        )


if __name__ == "__main__":
    main()
