"""Reading wrk's report: its latency lines as wrk prints them, units and padding included."""

from __future__ import annotations

import pytest

from bench import wrk

# wrk 4.2 output (the run that stopped a `make bench`: a p99 over a second, "1.44s ").
SLOW = "\n".join(
    [
        "Running 2s test @ http://127.0.0.1:55449/webhook/bench",
        "  2 threads and 16 connections",
        "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
        "    Latency   141.85ms  298.42ms   1.60s    88.05%",
        "    Req/Sec   114.03     49.65   180.00     62.50%",
        "  Latency Distribution",
        "     50%   30.64ms",
        "     75%   43.43ms",
        "     90%  526.92ms",
        "     99%    1.44s ",
        "  455 requests in 2.00s, 196.40KB read",
        "  Non-2xx or 3xx responses: 3",
        "Requests/sec:    227.07",
        "Transfer/sec:     98.01KB",
        "",
    ]
)


def test_a_p99_in_whole_seconds_with_wrks_padding_space_is_read() -> None:
    assert SLOW.splitlines()[9].endswith("1.44s ")  # the padding the fixture must keep
    parsed = wrk.parse(SLOW)
    assert parsed["p50_ms"] == 30.64
    assert parsed["p99_ms"] == 1440.0
    assert parsed["rps"] == 227.07
    assert parsed["errors"] == 3


def test_microseconds_and_minutes_are_in_ms() -> None:
    fast = SLOW.replace("30.64ms", "812.00us").replace("1.44s ", "1.02m ")
    parsed = wrk.parse(fast)
    assert parsed["p50_ms"] == 0.812
    assert parsed["p99_ms"] == 61_200.0


def test_a_report_without_percentiles_is_an_error() -> None:
    with pytest.raises(ValueError, match="no latency percentiles"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")
