"""`/query`: parameter validation and DuckDB's ordering over a partition."""

from __future__ import annotations

import pytest

from tests.conftest import CoreClient
from tests.support.fakes import MORNING, FakeClock


def test_query_returns_a_partitions_events_newest_first(
    client: CoreClient, clock: FakeClock
) -> None:
    clock.now = MORNING  # 10:59:59.5: the partition spans two hours of one day
    ids = []
    for n in range(5):
        ids.append(client.webhook("github", {"n": n})[1]["id"])
        clock.advance(minutes=1)  # the first is at 10:59, the rest in hour 11
    client.webhook("other", {"n": 99})
    status, body, _ = client.request(
        "GET", "/query", query={"source": "github", "date": "2026-11-23"}
    )
    assert status == 200
    assert [row["id"] for row in body["rows"]] == ids[::-1]
    assert [row["payload"] for row in body["rows"]] == [{"n": n} for n in range(4, -1, -1)]
    assert body["count"] == 5


def test_query_filters_by_hour_and_limits(client: CoreClient, clock: FakeClock) -> None:
    clock.now = MORNING
    for n in range(4):
        client.webhook("github", {"n": n})
        clock.advance(minutes=1)
    _, hour10, _ = client.request(
        "GET", "/query", query={"source": "github", "date": "2026-11-23", "hour": "10"}
    )
    _, limited, _ = client.request(
        "GET", "/query", query={"source": "github", "date": "2026-11-23", "limit": "2"}
    )
    assert [row["payload"] for row in hour10["rows"]] == [{"n": 0}]
    assert [row["payload"] for row in limited["rows"]] == [{"n": 3}, {"n": 2}]


def test_query_of_an_empty_partition_is_an_empty_list(client: CoreClient) -> None:
    status, body, _ = client.request(
        "GET", "/query", query={"source": "none", "date": "2020-01-01"}
    )
    assert (status, body["rows"], body["count"]) == (200, [], 0)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"source": "s"},
        {"date": "2026-11-23"},
        {"source": "s", "date": "2026-02-30"},
        {"source": "s", "date": "23-11-2026"},
        {"source": "s", "date": "2026-11-23T00"},
        {"source": "a/b", "date": "2026-11-23"},
        {"source": "s'; DROP TABLE x; --", "date": "2026-11-23"},
        {"source": "s", "date": "2026-11-23", "hour": "24"},
        {"source": "s", "date": "2026-11-23", "hour": "-1"},
        {"source": "s", "date": "2026-11-23", "limit": "0"},
        {"source": "s", "date": "2026-11-23", "limit": "10001"},
        {"source": "s", "date": "2026-11-23", "limit": "ten"},
        {"source": "s", "date": "2026-11-23", "hours": "1"},
        {"source": ["s", "t"], "date": "2026-11-23"},
    ],
)
def test_query_rejects_bad_parameters(client: CoreClient, query: dict) -> None:
    status, body, _ = client.request("GET", "/query", query=query)
    assert status == 400, body
    assert body["error"]["code"] == "bad_request"
