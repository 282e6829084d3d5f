"""The side-by-side table's targets are read off the same run's figures."""

from __future__ import annotations

from typing import Any

from bench import report_contenders


def row(first: float, health: float, warm: float) -> dict[str, Any]:
    return {
        "import": {"median_ms": 50.0, "ratio_to_bare": 0.2},
        "health": {"median_ms": health, "ratio_to_bare": 0.2},
        "webhook": {"median_ms": 200.0, "ratio_to_bare": first},
        "warm_ms_per_webhook": {"median_ms": 3.0, "ratio_to_bare": warm},
    }


def test_each_target_is_judged_from_the_deployed_setup() -> None:
    data = {
        "runs": 5,
        "warm_webhooks": 100,
        "setups": {
            "aws: ours": row(0.6, 50.0, 1.0),
            "aws: ours, secret ARN set": row(0.88, 70.0, 1.05),
        },
    }
    lines = report_contenders.targets(data)
    assert "x0.88 the bare handler's (target x0.7: not met)" in lines[0]
    assert "x1.4 the same archive without it (target x1.2: not met)" in lines[1]
    assert "(target x1.1: met)" in lines[2]
    table = report_contenders.table(data)
    assert "| aws: ours, secret ARN set | 50.0 (x0.2) | 70.0 (x0.2) | 200.0 (x0.88) |" in (
        "\n".join(table)
    )


def test_every_clouds_setups_show_with_their_ratios_and_no_aws_target_without_aws() -> None:
    data = {
        "runs": 3,
        "warm_webhooks": 50,
        "setups": {
            "gcp: ours": row(1.3, 290.0, 1.9),
            "gcp: plain functions-framework": row(1.0, 450.0, 1.0),
        },
    }
    table = "\n".join(report_contenders.table(data))
    assert "| gcp: ours | 50.0 (x0.2) | 290.0 (x0.2) | 200.0 (x1.3) | 3.0 (x1.9) |" in table
    assert "| gcp: plain functions-framework |" in table
    assert report_contenders.targets(data) == []


def test_a_skipped_run_says_why_and_claims_nothing() -> None:
    assert report_contenders.targets({"skipped": "no Python 3.12"}) == []
    assert "no Python 3.12" in report_contenders.table({"skipped": "no Python 3.12"})[-1]


def test_every_contender_has_its_app_its_call_and_a_bare_app_to_be_judged_against() -> None:
    from bench import contenders
    from bench.alternatives import CONTENDERS

    labels = {c.label for c in CONTENDERS}
    assert set(contenders.BARE.values()) <= labels
    for contender in CONTENDERS:
        assert (contenders.APPS / contender.app).is_file(), contender.label
        assert contender.call in contenders.CALLS, contender.label
        assert contender.cloud in contenders.BARE, contender.label
