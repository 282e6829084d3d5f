"""`make cost`: the bill's arithmetic against sums done by hand from scripts/prices.toml, the
free tiers, the billing granularity of each platform, and the price table's completeness."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest

from scripts import cost

PRICES = tomllib.loads(cost.PRICES.read_text())
MONTH = PRICES["month_seconds"]
BASE = cost.Traffic(
    per_second=10,
    month_seconds=MONTH,
    memory_mb=512,
    cpu_ms=0.0679,
    writes=1,
    reads=0,
    latency_ms=20,
    event_bytes=1024,
    log_bytes=600,
    job_ms=500,
)


def lines(traffic: cost.Traffic, cloud: str) -> dict[str, float]:
    return {name: usd for name, _, usd in cost.bill(traffic, PRICES[cloud])}


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("50/s", 50),
        ("3000/min", 50),
        ("36000/h", 10),
        ("864000/day", 10),
        ("2592000", 1),
        ("2_592_000/month", 1),
    ],
)
def test_a_rate_is_read_per_second_minute_hour_day_or_month(text: str, per_second: float) -> None:
    assert cost.parse_rate(text, MONTH) == pytest.approx(per_second)


def test_a_rate_without_a_number_is_refused_with_the_forms_it_takes() -> None:
    with pytest.raises(ValueError, match="RATE=fast: give webhooks per s, min, h, day or month"):
        cost.parse_rate("fast", MONTH)


def test_lambda_at_ten_a_second_by_hand() -> None:
    # 512 MB is 0.2894 of a vCPU: 0.0679 ms of CPU takes 0.2346 ms, plus one 20 ms write: 21 ms
    # billed (1 ms steps). 25,920,000 webhooks + 44,640 job runs of 500 ms (retry every
    # minute, compaction and reconcile hourly): 10 x 0.021 x 2,592,000 + 44,640 x 0.5 =
    # 566,640 s x 0.5 GB = 283,320 GB-s, under the 400,000 free: compute $0. Requests:
    # (25,964,640 - 1,000,000) x $0.20 / 1M = $4.99.
    bill = lines(BASE, "aws")
    assert bill["compute"] == 0
    assert bill["requests"] == pytest.approx(24_964_640 * 0.20 / 1e6)
    # writes: each webhook one PUT; 720 compaction runs list 48 hours each; no peers, so the
    # retry and reconcile runs list nothing (docs/deploying.md, idle cost); $0.005 per 1,000
    assert bill["storage requests"] == pytest.approx((25_920_000 + 34_560) * 0.005 / 1000)
    with_peers = lines(replace(BASE, peers=2), "aws")["storage requests"]
    # with two peers: the retry runs list the outbox; each reconcile run lists 8 + 169 for its
    # own digests and again for each peer's request it serves
    reconcile = 720 * (8 + 169) * 3
    assert with_peers == pytest.approx((25_920_000 + 34_560 + 43_200 + reconcile) * 0.005 / 1000)
    assert bill["stored after a month"] == pytest.approx(25_920_000 * 1024 / 1e9 * 0.023)
    assert bill["logs"] == pytest.approx((25_964_640 * 600 / 1e9 - 5) * 0.50)


def test_lambda_compute_past_the_free_tier_by_hand() -> None:
    bill = lines(replace(BASE, per_second=100), "aws")
    seconds = 100 * 0.021 * MONTH + 44_640 * 0.5
    assert bill["compute"] == pytest.approx((seconds * 0.5 - 400_000) * 0.0000133334)


def test_cloud_run_bills_each_request_in_100_ms_steps_cpu_and_memory_apart() -> None:
    bill = lines(replace(BASE, per_second=100), "gcp")
    seconds = 100 * 0.1 * MONTH + 44_640 * 0.5  # 20.2 ms -> 100 ms; a job run 500 ms
    cpu = (seconds * 0.333 - 180_000) * 0.000024
    memory = (seconds * 0.5 - 360_000) * 0.0000025
    assert bill["compute"] == pytest.approx(cpu + memory)
    assert bill["schedules"] == 0  # three Cloud Scheduler jobs, three free


def test_azure_flex_bills_a_second_at_least_and_overlapping_requests_share_it() -> None:
    rare = replace(BASE, per_second=0.1, memory_mb=2048)
    seconds = cost.active_seconds(rare, PRICES["azure"], 0.1, 20.2)
    assert seconds == pytest.approx(0.1 * 1.0 * MONTH)  # each alone: a second each
    busy = cost.active_seconds(rare, PRICES["azure"], 1000, 20.2)
    assert busy == pytest.approx(1000 * 0.0202 / 16 * MONTH)  # 16 at a time on an instance


def test_more_memory_costs_more_when_the_webhook_waits_on_storage() -> None:
    totals = [
        sum(lines(replace(BASE, per_second=100, memory_mb=mb), "aws").values())
        for mb in (256, 1024, 3008)
    ]
    assert totals == sorted(totals)


def test_each_cloud_table_has_every_price_the_bill_reads_and_its_date() -> None:
    assert PRICES["as_of"]
    needed = {
        "name",
        "memory_mb",
        "request_per_million",
        "billing_ms",
        "minimum_ms",
        "free_requests",
        "write_per_thousand",
        "read_per_thousand",
        "storage_gb_month",
        "scheduler_job_month",
        "free_scheduler_jobs",
        "log_ingest_gb",
        "free_log_gb",
    }
    text = cost.PRICES.read_text()
    for cloud in ("aws", "gcp", "azure"):
        assert needed <= set(PRICES[cloud]), cloud
        section = text.split(f"[{cloud}]", 1)[1].split("\n[", 1)[0]
        assert section.count("https://") >= 4, f"{cloud}: each price beside its source page"
