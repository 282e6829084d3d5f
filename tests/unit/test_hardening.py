"""Hostile and careless input: replays through unsigned headers, verification settings that
would switch verification off, data that is not RFC 8259 JSON, and a fuzzer over every route
that asserts "never 5xx, nothing stored on a 4xx". Signatures are made inside each test."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from stripe._webhook import WebhookSignature

from functions.core.app import App
from functions.core.errors import ConfigError
from functions.core.services import Services
from functions.core.settings import Settings, WebhookRule
from functions.core.signing import PeerSigner
from tests.conftest import READ_TOKEN, CoreClient
from tests.support.fakes import FakeClock, MemoryBlobStore

STANDARD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE = "whsec_stripe_hardening"
PEER = "peer-hardening-secret"
RULES = {"acme": WebhookRule("standard", STANDARD), "stripe": WebhookRule("stripe", STRIPE, 300)}


def fresh() -> tuple[CoreClient, MemoryBlobStore]:
    store = MemoryBlobStore()
    app = App(
        Services(
            Settings(webhooks=RULES, peer_secret=PEER, read_token=READ_TOKEN, retry_token="tok"),
            "local",
            lambda: store,
            FakeClock(datetime.now(UTC)),
        )
    )
    return CoreClient(app), store


def standard(body: bytes, msg: str = "msg_1") -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(STANDARD).sign(msg, now, body.decode()),
    }


def stripe(body: bytes) -> dict[str, str]:
    header = WebhookSignature.generate_signature_header(body.decode(), STRIPE, int(time.time()))
    return {"content-type": "application/json", "stripe-signature": header}


@pytest.mark.parametrize("extra", ["idempotency-key", "x-github-delivery"])
def test_an_unsigned_header_added_to_a_signed_standard_delivery_does_not_make_a_new_event(
    extra: str,
) -> None:
    client, _ = fresh()
    body = b'{"order": 1}'
    headers = standard(body)
    first = client.request("POST", "/webhook/acme", body, headers)
    replay = client.request("POST", "/webhook/acme", body, {**headers, extra: "attacker-1"})
    assert (first[0], replay[0]) == (201, 200)
    assert replay[1]["id"] == first[1]["id"]
    assert replay[1]["duplicate"] is True


def test_a_stripe_event_id_decides_idempotency_whatever_unsigned_headers_say() -> None:
    client, store = fresh()
    body = json.dumps({"id": "evt_1", "type": "charge.succeeded"}).encode()
    first = client.request("POST", "/webhook/stripe", body, stripe(body))
    again = client.request(
        "POST", "/webhook/stripe", body, {**stripe(body), "idempotency-key": "new-one"}
    )
    assert (first[0], again[0], again[1]["id"]) == (201, 200, first[1]["id"])
    assert len([k for k in store.objects if k.startswith("events/")]) == 1


@pytest.mark.parametrize(
    "rule",
    [
        {"scheme": "stripe", "secret": "whsec_x", "tolerance": 0},
        {"scheme": "stripe", "secret": "whsec_x", "tolerance": -5},
        {"scheme": "stripe", "secret": "whsec_x", "tolerance": "300"},
        {"scheme": "stripe", "secret": "whsec_x", "tolerance": True},
        {"scheme": "github", "secret": "   "},
        {"scheme": "github"},
        {"scheme": "standard", "secret": STANDARD, "tolerance": 60},
        {"scheme": "gitlab", "secret": "x"},
    ],
)
def test_a_rule_that_would_switch_verification_off_stops_the_start(rule: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="LAMBDA_WEBHOOKS") as raised:
        Settings.from_env({"LAMBDA_WEBHOOKS": json.dumps({"src": rule})})
    assert "'src'" in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"n": 1e999}',
        b'{"n": -1e999}',
        b'{"n": NaN}',
        b'{"n": Infinity}',
        b'{"s": "\\ud800"}',
        b'["\\udfff tail"]',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_what_json_cannot_carry_is_a_400_and_nothing_is_stored(body: bytes) -> None:
    client, store = fresh()
    status, answer, _ = client.request(
        "POST", "/webhook/plain", body, {"content-type": "application/json"}
    )
    assert (status, answer["error"]["code"]) == (400, "bad_request")
    assert store.objects == {}


@pytest.mark.parametrize("value", ["\u0661\u0662", "\u00b2", "\uff11", "1\u200b", " 1", "+1"])
@pytest.mark.parametrize("name", ["hour", "limit"])
def test_numbers_in_the_query_are_ascii_digits_only(name: str, value: str) -> None:
    client, _ = fresh()
    status, answer, _ = client.request(
        "GET", "/query", query={"source": "s", "date": "2026-11-23", name: value}
    )
    assert (status, answer["error"]["code"]) == (400, "bad_request")


@pytest.mark.parametrize(
    "change",
    [
        {"received_at": "0001-01-01T00:00:00Z"},
        {"received_at": "9999-12-31T23:59:59.999999Z"},
        {"received_at": "10000-01-01T00:00:00Z"},
        {"idempotency_key": 12},
        {"idempotency_key": ["a"]},
        {"headers": {"a": 1}},
        {"payload": float("nan")},
    ],
)
def test_a_signed_peer_envelope_with_bad_fields_is_a_4xx_with_nothing_stored(
    change: dict[str, Any],
) -> None:
    client, store = fresh()
    envelope = {
        "id": "01a20d1a-4412-707d-bca7-a2cd28ee43f5",
        "source": "peer",
        "received_at": "2026-11-23T10:00:00Z",
        "origin": "aws",
        "idempotency_key": None,
        "headers": {},
        "payload": {},
        **change,
    }
    body = json.dumps(envelope).encode()
    headers = PeerSigner(PEER).headers(envelope["id"], body, datetime.now(UTC))
    status, _, _ = client.request("POST", "/internal/event", body, headers)
    if status < 300:  # a far date may be a valid one; it must then be stored whole
        assert store.objects
        return
    assert 400 <= status < 500
    assert store.objects == {}


ROUTES = [
    "/health",
    "/peers",
    "/query",
    "/webhook/acme",
    "/webhook/stripe",
    "/webhook/x",
    "/internal/event",
    "/internal/outbox/retry",
    "/internal/outbox/requeue",
    "/internal/compact",
    "/nowhere",
]
texts = st.text(max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"1e999", b"[NaN]", b'"\\ud800"', b"[" * 3000, b"{}", b"null"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"]),
    path=st.one_of(st.sampled_from(ROUTES), texts.map(lambda t: "/webhook/" + t)),
    query=st.dictionaries(
        st.sampled_from(["source", "date", "hour", "limit", "x"]),
        st.lists(texts, min_size=1, max_size=2),
        max_size=4,
    ),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "content-type",
                "authorization",
                "idempotency-key",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "stripe-signature",
                "x-github-delivery",
            ]
        ),
        st.one_of(texts, st.just("application/json"), st.just(f"Bearer {READ_TOKEN}")),
        max_size=5,
    ),
    body=bodies,
)
def test_no_input_gets_a_5xx_and_a_4xx_stores_nothing(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
) -> None:
    client, store = fresh()
    status, answer, _ = client.request(method, path, body, headers, query)
    assert status < 500, (status, answer)
    if status >= 400:
        assert answer is None if method == "HEAD" else set(answer) == {"error"}
        assert store.objects == {}, f"{status} stored {sorted(store.objects)[:3]}"
