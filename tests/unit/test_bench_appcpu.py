"""The bench's app-CPU figure: measured through the real app and store, reported beside the
server's own CPU per webhook from the same run."""

from __future__ import annotations

from typing import Any

from bench import appcpu, report


def test_the_app_is_measured_on_webhooks_it_really_stored() -> None:
    measured = appcpu.run(200)  # a fresh interpreter, as the bench runs it
    assert measured["events"] == 200
    assert measured["rounds"] == appcpu.ROUNDS
    assert 0 < measured["us_per_webhook"] <= measured["max_us"]
    assert measured["store"].startswith(("RAM", "disk"))


def served(cores: float, rps: float) -> dict[str, Any]:
    return {
        "concurrency": 16,
        "rps": {"median": rps, "min": rps, "max": rps},
        "server_cores": {"median": cores, "min": cores, "max": cores},
    }


APP = {"us_per_webhook": 60.0, "max_us": 61.0, "events": 5000, "rounds": 5, "store": "RAM"}


def test_the_report_splits_the_servers_cpu_per_webhook_into_app_waitress_and_the_rest() -> None:
    results = {
        "app_cpu": APP,
        "load": {
            "generator ceiling (no-op app)": [served(cores=1.5, rps=15000)],  # 100 µs
            "no peers": [served(cores=1.5, rps=2500)],  # 600 µs per webhook
        },
    }
    (line,) = [text for text in report._app_cpu(results) if text]
    assert "the default server 600 µs" in line
    assert "the app alone 60.0 µs" in line
    assert "on their own (the no-op rows) 100 µs" in line
    assert "take the other 440 µs" in line


def test_without_the_no_op_row_waitress_stays_in_the_rest() -> None:
    results = {"app_cpu": APP, "load": {"no peers": [served(cores=1.5, rps=2500)]}}
    (line,) = [text for text in report._app_cpu(results) if text]
    assert "take the other 540 µs" in line


def test_no_line_without_both_figures() -> None:
    assert report._app_cpu({"load": {"no peers": [served(1.5, 2500)]}}) == []
    unmeasured = {"concurrency": 16, "rps": {"median": 2500}}  # /proc was not read
    assert report._app_cpu({"app_cpu": APP, "load": {"no peers": [unmeasured]}}) == []
