"""`bench.compare`: setups of `make serve` side by side, in turns, as its settings were
measured (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import compare


def test_a_setup_is_settings_joined_by_commas_or_default() -> None:
    assert compare.parse("default") == {}
    assert compare.parse("LAMBDA_WORKERS=4") == {"LAMBDA_WORKERS": "4"}
    assert compare.parse("LAMBDA_WORKERS=4, LAMBDA_SYNC=syncfs") == {
        "LAMBDA_WORKERS": "4",
        "LAMBDA_SYNC": "syncfs",
    }
    for bad in ("LAMBDA_WORKERS", "=4", "A=1,,B=2"):
        with pytest.raises(ValueError, match="NAME=VALUE"):
            compare.parse(bad)


def sample(rps: float, p99: float = 10.0) -> dict[str, Any]:
    return {"rps": rps, "p99_ms": p99, "errors": 0}


def test_the_ratio_is_the_median_of_each_rounds_ratio_not_a_ratio_of_medians() -> None:
    # The host slows down in round 2: both setups drop, the second stays x1.2 within each round.
    samples = {
        ("a", 16): [sample(1000), sample(500), sample(1100)],
        ("b", 16): [sample(1200), sample(600), sample(1320, p99=30)],
    }
    first, second = compare.summary(samples, ["a", "b"], 16)
    assert first["ratio"] == 1.0
    assert second["ratio"] == 1.2
    assert second["median_rps"] == 1200
    assert second["median_p99_ms"] == 10.0
    assert second["rps"] == [1200, 600, 1320]


def test_real_servers_are_measured_in_turns() -> None:
    rows = compare.compare(["default", "LAMBDA_WORKERS=1"], clients=2, runs=2, seconds=1)
    assert [r["setup"] for r in rows] == ["default", "LAMBDA_WORKERS=1"]
    for row in rows:
        assert len(row["rps"]) == 2
        assert all(rps > 0 for rps in row["rps"])
        assert row["errors"] == 0
    assert rows[0]["ratio"] == 1.0


def test_a_bad_setup_stops_it_before_any_server_starts() -> None:
    with pytest.raises(ValueError, match="NAME=VALUE"):
        compare.compare(["default", "oops"], clients=2, runs=1, seconds=1)
