"""The bench's storage-request count per webhook, against the real emulators: what it counts is
what the SDKs send, and each request lands in its cloud's billing class (a listing is billed
like a write on all three clouds; deletes are free)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bench.ingest_cost import PRICES, measure, once_per_client
from bench.storage import azure_store, gcs_store, request_class, s3_store
from tools.counting_proxy import CountingProxy
from tools.processes import Server


@pytest.fixture(params=["s3", "gcs", "azure"])
def cloud(request: pytest.FixtureRequest) -> tuple[str, str, Callable[[str], Any]]:
    name = request.param
    if name == "s3":
        moto: Server = request.getfixturevalue("moto")
        bucket = request.getfixturevalue("s3_bucket")
        return name, moto.url, s3_store(moto.url, bucket)
    if name == "gcs":
        gcs: Server = request.getfixturevalue("fake_gcs")
        bucket = request.getfixturevalue("gcs_bucket")
        return name, gcs.url, gcs_store(gcs.url, bucket)
    azurite: Server = request.getfixturevalue("azurite")
    conn, container = request.getfixturevalue("azure_container")
    return name, azurite.url, azure_store(conn, container)


def test_billable_writes_per_webhook_at_the_origin(
    cloud: tuple[str, str, Callable[[str], Any]],
) -> None:
    name, upstream, make = cloud
    rows = {(r["peers"], r["idempotency_key"]): r for r in measure(name, upstream, make, 3)}
    writes = {case: row["classes"]["write"] for case, row in rows.items()}
    # The event; its marker with a key; one outbox record for both peers, deleted in one request.
    assert writes == {(0, False): 1, (0, True): 2, (2, False): 2, (2, True): 3}
    assert rows[(2, False)]["classes"] == {"write": 2, "read": 0, "free": 1}
    write_price = PRICES[name]["write"]
    assert rows[(2, False)]["usd_per_million"] == pytest.approx(2 * write_price * 1e6)


def test_a_listing_is_billed_in_the_write_class_and_a_read_in_the_read_class(
    cloud: tuple[str, str, Callable[[str], Any]],
) -> None:
    name, upstream, make = cloud
    make(upstream).put("events/a.json", b"{}")
    proxy = CountingProxy(upstream)
    try:
        store = make(proxy.url)
        proxy.reset()
        assert list(store.list("events/")) == ["events/a.json"]
        listed = list(proxy.requests)
        proxy.reset()
        assert store.get("events/a.json") == b"{}"
        read = list(proxy.requests)
        proxy.reset()
        store.delete("events/a.json")
        deleted = list(proxy.requests)
    finally:
        proxy.stop()

    def billed(requests: list[tuple[str, str]]) -> list[str]:
        own = [(m, p) for m, p in requests if not once_per_client(name, m, p)]
        return [request_class(name, m, p) for m, p in own]

    assert billed(listed) == ["write"]
    assert set(billed(read)) == {"read"}
    assert billed(deleted) == ["free"]
