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


def test_the_report_sets_the_app_against_the_servers_cpu_per_webhook() -> None:
    results = {
        "app_cpu": {
            "us_per_webhook": 60.0,
            "max_us": 61.0,
            "events": 5000,
            "rounds": 5,
            "store": "RAM (/dev/shm)",
        },
        "load": {"no peers": [served(cores=1.5, rps=2500)]},  # 600 µs per webhook
    }
    (line,) = [text for text in report._app_cpu(results) if text]
    assert "60.0 µs" in line
    assert "600 µs" in line
    assert "other 540 µs" in line


def test_no_line_without_both_figures() -> None:
    assert report._app_cpu({"load": {"no peers": [served(1.5, 2500)]}}) == []
    unmeasured = {"concurrency": 16, "rps": {"median": 2500}}  # /proc was not read
    assert report._app_cpu({"app_cpu": {}, "load": {"no peers": [unmeasured]}}) == []
