"""`make cost RATE=50/s`: a stack's monthly bill on each cloud at a traffic, from the list prices
in scripts/prices.toml and what `make bench` measured (bench/results/results.json): CPU per
webhook and storage requests per webhook. See docs/deploying.md (what it costs at a traffic).

    python -m scripts.cost 50/s [--memory 512] [--peers 0|2] [--key] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from functions.core.compaction import LOOKBACK_HOURS
from functions.core.schedules import COMPACT, JOBS, RECONCILE, RETRY

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT / "scripts" / "prices.toml"
RESULTS = ROOT / "bench" / "results" / "results.json"
STORE = {"aws": "s3", "gcp": "gcs", "azure": "azure"}  # the bench's names for each cloud's store
PER = {"s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0}


@dataclass(frozen=True)
class Traffic:
    """What one month of a stack does, in the units the prices are in."""

    per_second: float
    month_seconds: int
    memory_mb: int
    cpu_ms: float  # CPU per webhook on one full core (make bench: the app alone)
    writes: float  # storage requests per webhook, by price class (make bench: ingest cost)
    reads: float
    latency_ms: float  # one storage request's round trip, an assumption
    event_bytes: int
    log_bytes: int
    job_ms: float
    peers: int = 0

    @property
    def webhooks(self) -> float:
        return self.per_second * self.month_seconds


def parse_rate(text: str, month_seconds: int) -> float:
    """Webhooks per second from `50/s`, `3000/min`, `10/h`, `1000/day` or a monthly count."""
    match = re.fullmatch(r"\s*([\d_.]+)\s*(?:/\s*(s|min|h|day|month))?\s*", text)
    if not match:
        raise ValueError(f"RATE={text}: give webhooks per s, min, h, day or month, e.g. 50/s")
    value, unit = float(match[1]), match[2] or "month"
    return value / month_seconds if unit == "month" else value / PER[unit]


def bench_inputs(results: dict[str, Any], cloud: str, peers: int, key: bool) -> dict[str, float]:
    row = next(
        r
        for r in results["ingest_cost"]
        if r["cloud"] == STORE[cloud] and r["peers"] == peers and r["idempotency_key"] == key
    )
    return {
        "cpu_ms": results["app_cpu"]["us_per_webhook"] / 1000,
        "writes": row["classes"]["write"],
        "reads": row["classes"]["read"],
    }


def job_runs(month_seconds: int) -> float:
    return sum(month_seconds / 60 / job.period_minutes for job in JOBS)


# A reconcile run in agreement lists the hour index once per day of its 7-day window (8) and,
# per hour with events (169 on a busy stack, one source), that hour's events: for its own
# digests, and again for each peer's digest requests it serves (docs/peers.md, anti-entropy;
# bench/reconcile_cost.py counts it).
RECONCILE_LISTINGS = 8 + 169


def job_lists(traffic: Traffic) -> float:
    """Listings the schedules make (docs/deploying.md, idle cost): a compaction run lists the
    hour index once per look-back hour; a retry run lists the outbox and a reconcile run the
    window's hours only when there are peers."""
    minutes = traffic.month_seconds / 60
    retry = minutes / RETRY.period_minutes if traffic.peers else 0.0
    reconcile = (
        minutes / RECONCILE.period_minutes * RECONCILE_LISTINGS * (1 + traffic.peers)
        if traffic.peers
        else 0.0
    )
    return minutes / COMPACT.period_minutes * LOOKBACK_HOURS + retry + reconcile


def billed_ms(work_ms: float, price: dict[str, Any]) -> float:
    step = price["billing_ms"]
    return float(max(price["minimum_ms"], math.ceil(work_ms / step) * step))


def vcpu(price: dict[str, Any], memory_mb: int) -> float:
    if "vcpu_per_mb" in price:
        return float(price["vcpu_per_mb"]) * memory_mb
    table = {int(k): float(v) for k, v in price["vcpu_by_memory_mb"].items()}
    return table[max(m for m in table if m <= memory_mb)] if memory_mb >= min(table) else 0.05


def work_ms(traffic: Traffic, price: dict[str, Any]) -> float:
    """One webhook's wall time: its CPU at the memory's share of a core, then its storage
    requests one after another."""
    share = min(1.0, vcpu(price, traffic.memory_mb))
    return traffic.cpu_ms / share + (traffic.writes + traffic.reads) * traffic.latency_ms


def active_seconds(traffic: Traffic, price: dict[str, Any], per_second: float, ms: float) -> float:
    """Instance-seconds billed in a month. One request per instance (Lambda, Cloud Run at
    concurrency 1): each is billed on its own. Azure Flex bills an instance while it executes,
    at least a second a stretch, which the requests it runs in that second share; it runs as
    many at once as its HTTP concurrency (1 for a Python app)."""
    billed = billed_ms(ms, price) / 1000
    if "concurrency_by_memory_mb" not in price:
        return per_second * billed * traffic.month_seconds
    concurrency = price["concurrency_by_memory_mb"][str(traffic.memory_mb)]
    busy = max(1.0, per_second * ms / 1000 / concurrency)
    return float(min(per_second * billed, busy) * traffic.month_seconds)


def compute_usd(traffic: Traffic, price: dict[str, Any], seconds: float) -> float:
    # Lambda and Azure bill MB / 1024 as GB; the GCP stack deploys `{memory}Mi`, billed in GiB
    # (memory_unit_bytes, scripts/prices.toml).
    gib = traffic.memory_mb * price.get("memory_unit_bytes", 2**20) / 2**30
    if "vcpu_second" in price:  # Cloud Run: CPU and memory apart, each with its free tier
        cpu = max(0.0, seconds * vcpu(price, traffic.memory_mb) - price["free_vcpu_seconds"])
        mem = max(0.0, seconds * gib - price["free_gib_seconds"])
        return float(cpu * price["vcpu_second"] + mem * price["gib_second"])
    return float(max(0.0, seconds * gib - price["free_gb_seconds"]) * price["gb_second"])


def unit(gb_bytes: int) -> str:
    return "GiB" if gb_bytes == 2**30 else "GB"


def bill(traffic: Traffic, price: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(line, quantity, USD) for each part of the month's bill."""
    runs = job_runs(traffic.month_seconds)
    http = active_seconds(traffic, price, traffic.per_second, work_ms(traffic, price))
    jobs = runs * billed_ms(traffic.job_ms, price) / 1000
    requests = traffic.webhooks + runs
    # Each cloud's "GB" is its own: some bill 2**30 bytes, some 10**9 (scripts/prices.toml).
    stored_gb = traffic.webhooks * traffic.event_bytes / price["storage_gb_bytes"]
    log_gb = requests * traffic.log_bytes / price["log_gb_bytes"]
    scheduler = max(0, len(JOBS) - price["free_scheduler_jobs"]) * price["scheduler_job_month"]
    writes = traffic.webhooks * traffic.writes + job_lists(traffic)
    storage_requests = (
        writes * price["write_per_thousand"]
        + traffic.webhooks * traffic.reads * price["read_per_thousand"]
    ) / 1000
    free_requests = price["free_requests"]
    return [
        (
            "requests",
            f"{requests:,.0f}",
            max(0.0, requests - free_requests) * price["request_per_million"] / 1e6,
        ),
        (
            "compute",
            f"{http + jobs:,.0f} instance-s at {traffic.memory_mb} MB",
            compute_usd(traffic, price, http + jobs),
        ),
        ("storage requests", f"{writes:,.0f} writes", storage_requests),
        (
            "stored after a month",
            f"{stored_gb:,.1f} {unit(price['storage_gb_bytes'])}",
            stored_gb * price["storage_gb_month"],
        ),
        ("schedules", f"{runs:,.0f} runs of {len(JOBS)} jobs", scheduler),
        (
            "logs",
            f"{log_gb:,.1f} {unit(price['log_gb_bytes'])}",
            max(0.0, log_gb - price["free_log_gb"]) * price["log_ingest_gb"],
        ),
    ]


def memory_for(cloud: str, price: dict[str, Any], memory_mb: int) -> int | None:
    """What the stack deploys for `lambda:memoryMb` on this cloud. Where the table's sizes are
    the only ones (`instance_sizes`: Azure Flex), the next one up, as stacks/config.py picks
    it, and None above the largest, which the stack refuses."""
    wanted = int(max(memory_mb, price.get("minimum_memory_mb", 0)))
    if price.get("instance_sizes"):
        return next((int(mb) for mb in sorted(price["memory_mb"]) if mb >= wanted), None)
    return wanted


def report(traffic: Traffic, prices: dict[str, Any], say: Callable[[str], None] = print) -> None:
    say(
        f"{traffic.per_second:,.4g} webhooks/s = {traffic.webhooks:,.0f} a month "
        f"({prices['month_seconds'] // 86400} days); list prices as of {prices['as_of']} "
        f"(scripts/prices.toml)"
    )
    for cloud in STORE:
        price = prices[cloud]
        memory = memory_for(cloud, price, traffic.memory_mb)
        if memory is None:
            say(f"\n{cloud}: {traffic.memory_mb} MB cannot be deployed there (stacks/config.py)")
            continue
        own = replace(traffic, memory_mb=memory, **price.get("measured", {}))  # own store's counts
        say(f"\n{cloud}: {price['name']}, {own.memory_mb} MB")
        lines = bill(own, price)
        for name, quantity, usd in lines:
            say(f"  {name:<22}{quantity:>40}  ${usd:>11,.2f}")
        say(f"  {'total a month':<62}  ${sum(usd for *_, usd in lines):>11,.2f}")
        sizes = [
            f"{mb} MB ${sum(u for *_, u in bill(replace(own, memory_mb=mb), price)):,.2f}"
            for mb in price["memory_mb"]
            if mb >= price.get("minimum_memory_mb", 0)  # sizes the stack can deploy
        ]
        say(f"  at other memory sizes: {' · '.join(sizes)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rate", help="webhooks per s, min, h, day or month: 50/s, 2000000")
    parser.add_argument("--memory", type=int, default=512, help="MB (lambda:memoryMb)")
    parser.add_argument("--peers", type=int, choices=[0, 2], default=0)
    parser.add_argument("--key", action="store_true", help="senders send an idempotency key")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="per storage request")
    parser.add_argument("--event-bytes", type=int, default=1024, help="stored per webhook")
    parser.add_argument("--log-bytes", type=int, default=600, help="log lines per request")
    parser.add_argument("--job-ms", type=float, default=500.0, help="one scheduled job run")
    args = parser.parse_args(argv)
    prices = tomllib.loads(PRICES.read_text())
    try:
        per_second = parse_rate(args.rate, prices["month_seconds"])
    except ValueError as exc:
        raise SystemExit(f"lambda: {exc}") from None
    results = json.loads(RESULTS.read_text())
    measured = bench_inputs(results, "aws", args.peers, args.key)
    print(
        f"from make bench: {measured['cpu_ms'] * 1000:.1f} µs CPU per webhook (the app alone); "
        f"storage requests per webhook from bench/results/results.json; assumed: "
        f"{args.latency_ms:g} ms per storage request, {args.event_bytes} B stored and "
        f"{args.log_bytes} B of logs per webhook, {args.job_ms:g} ms per job run"
    )
    for cloud in STORE:
        prices[cloud]["measured"] = bench_inputs(results, cloud, args.peers, args.key)
    traffic = Traffic(
        per_second,
        prices["month_seconds"],
        args.memory,
        latency_ms=args.latency_ms,
        event_bytes=args.event_bytes,
        log_bytes=args.log_bytes,
        job_ms=args.job_ms,
        peers=args.peers,
        **measured,
    )
    report(traffic, prices)


if __name__ == "__main__":
    main()
