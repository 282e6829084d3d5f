"""The bench's report: the targets lines (why a 64-client p99 target is missed, from the same
run), the tables, and the generated part of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import report


def row(clients: int, rps: float, p99: float) -> dict[str, Any]:
    return {
        "concurrency": clients,
        "rps": {"median": rps, "min": rps, "max": rps},
        "p99_ms": {"median": p99, "min": p99, "max": p99},
    }


def test_a_waitress_row_cites_the_no_op_apps_p99_and_another_servers_row_does_not() -> None:
    load = {
        "generator ceiling (no-op app)": [row(64, 16000, 28.4)],
        "no peers": [row(64, 2560, 50.0)],  # mean wait 25 ms: p99 x2.0 the mean
        "no peers, gunicorn, 2 processes x 16 threads": [row(64, 2000, 60.0)],
    }
    waitress, gunicorn = report._ingest_targets(load, "2 processes x 16 threads")
    assert waitress.startswith("- Local ingest, waitress (make serve, 2 processes x 16 threads)")
    assert "wait 25.0 ms on average" in waitress
    assert "about 5,120/s if p99 stays x2.0 the mean" in waitress
    assert "waitress with a no-op app has p99 28.4 ms at this level" in waitress
    assert gunicorn.startswith("- Local ingest, gunicorn")
    assert "no-op" not in gunicorn


def test_the_row_with_nothing_flushed_is_cited_as_a_bound_and_never_judged() -> None:
    load = {
        "no peers": [row(64, 2700, 47.5)],
        report.NOFLUSH: [row(64, 4833, 34.7)],
        "no peers, LAMBDA_SYNC=syncfs": [row(64, 3300, 37.7)],
        "no peers, granian, 4 processes x 16 threads": [row(64, 3900, 28.0)],
    }
    lines = report._ingest_targets(load, "4 processes x 16 threads")
    assert len(lines) == 3  # no line of its own for the row that is not a setting
    fsync, syncfs, granian = lines
    bound = (
        "with its files in RAM and nothing flushed (not durable) the same server does "
        "4,833/s with p99 34.7 ms"
    )
    assert bound in fsync
    assert bound in syncfs
    assert "nothing flushed" not in granian


def test_a_met_target_gives_no_arithmetic() -> None:
    load = {"generator ceiling (no-op app)": [row(16, 14000, 4.4)], "no peers": [row(16, 2600, 13)]}
    (line,) = report._ingest_targets(load, "2 processes x 16 threads")
    assert "(target 2,500/s and 25 ms: met)." in line


def test_the_page_keeps_its_hand_written_text_and_replaces_only_the_generated_part(
    tmp_path: Path,
) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nHow to read.\n\n{report.START}\nold\n{report.END}\nAfter.\n")
    report.write_page(page, "new table", "../bench/results/scaling.png")
    assert page.read_text() == (
        f"# Benchmarks\n\nHow to read.\n\n{report.START}\nnew table\n"
        f"![query scaling](../bench/results/scaling.png)\n{report.END}\nAfter.\n"
    )


def test_a_page_without_the_markers_is_refused_rather_than_overwritten(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nprose someone wrote\n")
    with pytest.raises(ValueError, match="lacks the bench markers"):
        report.write_page(page, "table", "plot.png")
    assert page.read_text() == "# Benchmarks\n\nprose someone wrote\n"


def test_the_storage_requests_table_has_no_before_columns() -> None:
    rows = [
        {
            "cloud": "s3",
            "peers": 2,
            "idempotency_key": True,
            "requests": {"DELETE": 1, "PUT": 3},
            "classes": {"write": 3},
            "usd_per_million": 15.0,
        }
    ]
    lines = report._ingest_cost({"ingest_cost": rows})
    assert "| s3 | 2 | yes | 1 DELETE + 3 PUT | 3 | 15.00 |" in lines
    assert not any("before" in line for line in lines)


def test_the_anti_entropy_table_shows_each_run_per_store() -> None:
    # A row set as bench/reconcile_cost.py wrote it on the emulators (480 events, s3 only).
    import json

    from bench.report import _reconcile

    rows = json.loads((Path(__file__).parent / "data" / "reconcile_cost.json").read_text())
    lines = _reconcile({"reconcile_cost": rows})
    in_sync, repair = (line for line in lines if line.startswith("| s3 (moto)"))
    assert "| in sync | 38 (GET 35, PUT 3) | 8 (GET /internal/digest 8) | 0 | 0 |" in in_sync
    assert "GET /internal/ids 5" in repair
    assert repair.endswith("| 5 | 5 |")
