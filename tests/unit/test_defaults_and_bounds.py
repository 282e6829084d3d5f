"""Defaults and boundaries a user relies on, each pinned through the public routes: the query's
default limit and its hour 0, the idempotency key's length limit and which header wins, and the
default timestamp tolerance of a webhook rule read from LAMBDA_WEBHOOKS."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from stripe._webhook import WebhookSignature

from functions.core.events import MAX_IDEMPOTENCY_KEY
from functions.core.query import DEFAULT_LIMIT, MAX_LIMIT
from functions.core.settings import Settings
from tests.conftest import CoreClient, MakeClient
from tests.support.fakes import FakeClock, MemoryBlobStore


def query(client: CoreClient, **params: str) -> tuple[int, dict]:
    status, body, _ = client.request("GET", "/query", query=params)
    return status, body


def test_a_query_without_a_limit_returns_the_newest_hundred(
    client: CoreClient, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    for n in range(DEFAULT_LIMIT + 1):
        client.webhook("s", {"n": n})
        clock.advance(milliseconds=10)
    status, body = query(client, source="s", date="2026-11-23")
    assert (status, DEFAULT_LIMIT) == (200, 100)
    assert [row["payload"]["n"] for row in body["rows"]] == list(range(100, 0, -1))


def test_the_largest_limit_is_accepted_and_one_more_is_not(client: CoreClient) -> None:
    assert query(client, source="s", date="2026-11-23", limit=str(MAX_LIMIT))[0] == 200
    assert query(client, source="s", date="2026-11-23", limit=str(MAX_LIMIT + 1))[0] == 400
    assert query(client, source="s", date="2026-11-23", limit="1")[0] == 200


def test_hour_zero_selects_the_first_hour_of_the_day_and_not_the_whole_day(
    client: CoreClient, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    client.webhook("s", {"hour": 0})
    clock.advance(hours=1)
    client.webhook("s", {"hour": 1})
    clock.advance(hours=22)
    client.webhook("s", {"hour": 23})
    for hour, expected in (("0", [0]), ("00", [0]), ("23", [23])):
        status, body = query(client, source="s", date="2026-11-23", hour=hour)
        assert (status, [r["payload"]["hour"] for r in body["rows"]]) == (200, expected), hour
    assert body["hour"] == 23
    assert query(client, source="s", date="2026-11-23")[1]["count"] == 3


def test_an_idempotency_key_of_the_largest_length_is_kept_whole(
    client: CoreClient, store: MemoryBlobStore
) -> None:
    key = "k" * MAX_IDEMPOTENCY_KEY
    status, body, _ = client.webhook("s", {}, idempotency_key=key)
    assert (status, MAX_IDEMPOTENCY_KEY) == (201, 255)
    assert json.loads(store.objects[body["key"]])["idempotency_key"] == key
    assert client.webhook("s", {}, idempotency_key=key)[0] == 200


@pytest.mark.parametrize("header", ["idempotency_key", "x_github_delivery", "webhook_id"])
def test_an_overlong_key_in_any_idempotency_header_is_a_400_naming_it(
    client: CoreClient, store: MemoryBlobStore, header: str
) -> None:
    status, body, _ = client.webhook("s", {}, **{header: "k" * (MAX_IDEMPOTENCY_KEY + 1)})
    assert status == 400
    assert header.replace("_", "-") in body["error"]["message"]
    assert store.objects == {}


def test_idempotency_key_wins_over_a_github_delivery_which_wins_over_a_webhook_id(
    client: CoreClient,
) -> None:
    first = client.webhook("s", {}, idempotency_key="a", x_github_delivery="d1", webhook_id="w1")
    # the same Idempotency-Key with other ids: the same delivery
    same = client.webhook("s", {}, idempotency_key="a", x_github_delivery="d2", webhook_id="w2")
    assert (same[0], same[1]["id"]) == (200, first[1]["id"])
    # without it, X-GitHub-Delivery decides, and then webhook-id
    second = client.webhook("s", {}, x_github_delivery="d1", webhook_id="w9")
    assert second[0] == 201
    assert client.webhook("s", {}, x_github_delivery="d1", webhook_id="w8")[0] == 200
    assert client.webhook("s", {}, webhook_id="w9")[0] == 201
    assert client.webhook("s", {}, webhook_id="w9")[0] == 200


def test_a_blank_idempotency_header_is_no_key_and_the_next_header_decides(
    client: CoreClient,
) -> None:
    a = client.webhook("s", {}, idempotency_key="  ", x_github_delivery="d1")
    b = client.webhook("s", {}, idempotency_key="", x_github_delivery="d1")
    assert (a[0], b[0], b[1]["id"]) == (201, 200, a[1]["id"])
    assert client.webhook("s", {}, idempotency_key=" ")[0] == 201
    assert client.webhook("s", {}, idempotency_key=" ")[0] == 201  # no key: two events


def stripe_signed(body: bytes, secret: str, age_s: int) -> dict[str, str]:
    at = int(time.time()) - age_s
    header = WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=at)
    return {"content-type": "application/json", "stripe-signature": header}


def test_a_rule_from_lambda_webhooks_without_a_tolerance_allows_five_minutes(
    make_client: MakeClient,
) -> None:
    raw = json.dumps({"pay": {"scheme": "stripe", "secret": "whsec_x"}})
    settings = Settings.from_env({"LAMBDA_WEBHOOKS": raw})
    assert settings.webhooks["pay"].tolerance_s == 300
    client = make_client(settings)
    body = json.dumps({"id": "evt_1"}).encode()
    # signed when each request is made, so the age is the one stated
    first = client.request("POST", "/webhook/pay", body, stripe_signed(body, "whsec_x", 280))
    again = client.request("POST", "/webhook/pay", body, stripe_signed(body, "whsec_x", 290))
    assert (first[0], again[0]) == (201, 200)  # the same Stripe event id: one event
    status = client.request("POST", "/webhook/pay", body, stripe_signed(body, "whsec_x", 330))[0]
    assert status == 401
