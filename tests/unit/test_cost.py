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
    # S3 bills a GB-month of 2**30 bytes (aws.amazon.com/s3/faqs, its storage example)
    assert bill["stored after a month"] == pytest.approx(25_920_000 * 1024 / 2**30 * 0.023)
    assert bill["logs"] == pytest.approx((25_964_640 * 600 / 1e9 - 5) * 0.50)


def test_lambda_compute_past_the_free_tier_by_hand() -> None:
    bill = lines(replace(BASE, per_second=100), "aws")
    seconds = 100 * 0.021 * MONTH + 44_640 * 0.5
    assert bill["compute"] == pytest.approx((seconds * 0.5 - 400_000) * 0.0000133334)


def test_cloud_run_bills_each_request_in_100_ms_steps_cpu_and_memory_apart() -> None:
    bill = lines(replace(BASE, per_second=100), "gcp")
    seconds = 100 * 0.1 * MONTH + 44_640 * 0.5  # 20.2 ms -> 100 ms; a job run 500 ms
    cpu = (seconds * 0.333 - 180_000) * 0.000024
    memory = (seconds * 512 / 1024 - 360_000) * 0.0000025  # 512Mi: half a GiB
    assert bill["compute"] == pytest.approx(cpu + memory)
    assert bill["schedules"] == 0  # three Cloud Scheduler jobs, three free


def test_azure_flex_bills_a_second_at_least_and_overlapping_requests_share_it() -> None:
    # flex-consumption-plan.md, billing: "The minimum billable execution period ... is 1,000
    # ms. Past that, the billable activity period is rounded up to the nearest 100 ms."
    rare = replace(BASE, per_second=0.1, memory_mb=2048)
    seconds = cost.active_seconds(rare, PRICES["azure"], 0.1, 20.2)
    assert seconds == pytest.approx(0.1 * 1.0 * MONTH)  # each alone: a second each
    assert cost.billed_ms(1000.1, PRICES["azure"]) == 1100
    # an instance that runs 16 at a time (a non-Python app's default at 2048 MB)
    sixteen = {**PRICES["azure"], "concurrency_by_memory_mb": {"2048": 16}}
    busy = cost.active_seconds(rare, sixteen, 1000, 20.2)
    assert busy == pytest.approx(1000 * 0.0202 / 16 * MONTH)


def test_azure_flex_runs_one_request_at_a_time_on_a_python_instance() -> None:
    # functions-concurrency.md (Flex): "For Python apps, the default HTTP trigger concurrency
    # for all instances sizes is 1"; the stack sets none. 1,000/s of 20.2 ms each keep 20.2
    # instances executing, not 16 times fewer.
    rare = replace(BASE, memory_mb=2048)
    busy = cost.active_seconds(rare, PRICES["azure"], 1000, 20.2)
    assert busy == pytest.approx(1000 * 0.0202 * MONTH)
    assert set(PRICES["azure"]["concurrency_by_memory_mb"].values()) == {1}


def test_cloud_functions_bills_the_binary_megabytes_the_stack_deploys() -> None:
    # The stack deploys available_memory=f"{memory_mb}Mi"; the Cloud Functions v2 API reads it
    # as a Kubernetes quantity (Mi: 2**20 bytes; "M" would be 10**6) and Cloud Run bills
    # GiB-seconds: 512Mi is 0.5 GiB.
    seconds = 1_000_000.0
    usd = cost.compute_usd(BASE, PRICES["gcp"], seconds)
    cpu = (seconds * 0.333 - 180_000) * 0.000024
    memory = (seconds * 512 / 1024 - 360_000) * 0.0000025
    assert usd == pytest.approx(cpu + memory)


def test_lambda_matches_the_pricing_pages_worked_example() -> None:
    # aws.amazon.com/lambda/pricing, example 1 (x86 at $0.00001667 then): 512 MB, 3M runs of
    # 1 s: 3,000,000 s x 512/1024 = 1,500,000 GB-s, less 400,000 free = 1,100,000 x $0.00001667
    # = $18.34; (3M - 1M free) requests x $0.20/M = $0.40.
    price = {**PRICES["aws"], "gb_second": 0.00001667}
    assert cost.compute_usd(BASE, price, 3_000_000) == pytest.approx(18.34, abs=0.005)
    assert (3_000_000 - price["free_requests"]) * price["request_per_million"] / 1e6 == 0.40


def test_cloud_storage_matches_the_pricing_pages_worked_example() -> None:
    # cloud.google.com/storage/pricing-examples, simple example: 10,000 Class A operations
    # $0.05, 50,000 Class B $0.02, 50 GB Standard (GB = 2**30 bytes) $1.00
    gcs = PRICES["gcp"]
    assert 10_000 * gcs["write_per_thousand"] / 1000 == pytest.approx(0.05)
    assert 50_000 * gcs["read_per_thousand"] / 1000 == pytest.approx(0.02)
    one = replace(BASE, per_second=1 / MONTH, event_bytes=50 * 2**30)
    assert lines(one, "gcp")["stored after a month"] == pytest.approx(1.00)


def test_cloud_logging_counts_gibibytes_past_50_free_a_project() -> None:
    # cloud.google.com/stackdriver/pricing: $0.50/GiB past 50 GiB/project/month; "all units
    # are treated as binary measures" (2**30 bytes)
    busy = replace(BASE, per_second=100, log_bytes=1000)
    requests = 100 * MONTH + 44_640
    expected = (requests * 1000 / 2**30 - 50) * 0.50
    assert lines(busy, "gcp")["logs"] == pytest.approx(expected)
    assert expected < (requests * 1000 / 1e9 - 50) * 0.50  # the decimal count overbills


def test_log_analytics_counts_decimal_gigabytes() -> None:
    # learn.microsoft.com azure-monitor/logs/cost-logs: "in units of GB (10^9 bytes)"
    requests = 10 * MONTH + 44_640
    expected = (requests * 600 / 1e9 - 5) * 2.30
    assert lines(BASE, "azure")["logs"] == pytest.approx(expected)


def test_cloud_scheduler_bills_a_job_per_31_days_by_the_day() -> None:
    # cloud.google.com/scheduler/pricing: "$0.10/job/31 days", billed per day; 3 jobs free
    # per billing account. The month here is 30 days.
    assert MONTH == 30 * 86400
    assert PRICES["gcp"]["scheduler_job_month"] == pytest.approx(0.10 * 30 / 31, abs=1e-6)
    assert PRICES["gcp"]["free_scheduler_jobs"] == 3


@pytest.mark.parametrize(
    ("cloud", "per_write", "per_read", "per_gb_month"),
    [
        # AWS Price List, us-east-1 AmazonS3 offer of 2026-08-31: Requests-Tier1 $0.000005,
        # Requests-Tier2 $0.0000004, TimedStorage-ByteHrs $0.023 (first 51,200 GB-Mo)
        ("aws", 0.000005, 0.0000004, 0.023),
        # GCP catalogue (Infracost API, 2026-09-24): Regional Standard Class A $0.000005,
        # Class B $0.0000004, Standard Storage US Regional $0.02
        ("gcp", 0.000005, 0.0000004, 0.020),
        # Azure Retail Prices, eastus General Block Blob v2 Hot LRS (2026-09-24): writes $0.05
        # and reads $0.004 per 10K, $0.0208 per GB-month (first 51,200 GB)
        ("azure", 0.05 / 10_000, 0.004 / 10_000, 0.0208),
    ],
)
def test_storage_prices_match_the_providers_price_lists(
    cloud: str, per_write: float, per_read: float, per_gb_month: float
) -> None:
    table = PRICES[cloud]
    assert table["write_per_thousand"] / 1000 == pytest.approx(per_write)
    assert table["read_per_thousand"] / 1000 == pytest.approx(per_read)
    assert table["storage_gb_month"] == pytest.approx(per_gb_month)


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
        "storage_gb_bytes",
        "log_gb_bytes",
    }
    text = cost.PRICES.read_text()
    for cloud in ("aws", "gcp", "azure"):
        assert needed <= set(PRICES[cloud]), cloud
        section = text.split(f"[{cloud}]", 1)[1].split("\n[", 1)[0]
        assert section.count("https://") >= 4, f"{cloud}: each price beside its source page"


def test_azure_is_billed_at_the_flex_size_the_stack_deploys_and_not_above_the_largest() -> None:
    # stacks/config.py: Flex takes the next instance size up (2048, 4096) and refuses more
    azure = PRICES["azure"]
    assert cost.memory_for("azure", azure, 512) == 2048
    assert cost.memory_for("azure", azure, 3008) == 4096
    assert cost.memory_for("azure", azure, 8192) is None
    assert cost.memory_for("aws", PRICES["aws"], 3008) == 3008
    said: list[str] = []
    cost.report(replace(BASE, memory_mb=8192), {**PRICES, "month_seconds": MONTH}, said.append)
    assert "azure: 8192 MB cannot be deployed there (stacks/config.py)" in "\n".join(said)
