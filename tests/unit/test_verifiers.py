"""Inbound webhook verification, with signatures made the way each sender makes them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook
from stripe._webhook import WebhookSignature

from functions.core.settings import Settings, WebhookRule
from tests.conftest import CoreClient, MakeClient
from tests.support.fakes import MemoryBlobStore

GITHUB_SECRET = "It's a Secret to Everybody"
STRIPE_SECRET = "whsec_stripe_test_secret"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"action": "opened", "number": 7}).encode()
RULES = {
    "github": WebhookRule("github", GITHUB_SECRET),
    "stripe": WebhookRule("stripe", STRIPE_SECRET, 300),
    "acme": WebhookRule("standard", STANDARD_SECRET),
    "open": WebhookRule("none"),
}


def github_headers(body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "x-github-delivery": "d-1"}


def stripe_headers(body: bytes, at: int | None = None) -> dict[str, str]:
    return {
        "stripe-signature": WebhookSignature.generate_signature_header(
            body.decode(), STRIPE_SECRET, timestamp=at or int(time.time())
        )
    }


def standard_headers(body: bytes, at: datetime | None = None) -> dict[str, str]:
    moment = at or datetime.now(UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(STANDARD_SECRET).sign("msg_1", moment, body.decode()),
    }


@pytest.fixture
def client(make_client: MakeClient) -> CoreClient:
    return make_client(Settings(webhooks=RULES))


def post(client: CoreClient, source: str, body: bytes, headers: dict[str, str]) -> int:
    status, _, _ = client.request(
        "POST", f"/webhook/{source}", body, {"content-type": "application/json", **headers}
    )
    return status


@pytest.mark.parametrize(
    ("source", "headers"),
    [
        ("github", github_headers(BODY)),
        ("stripe", stripe_headers(BODY)),
        ("acme", standard_headers(BODY)),
        ("open", {}),
        ("unlisted", {}),
    ],
)
def test_each_verifier_accepts_a_correctly_signed_request(
    client: CoreClient, store: MemoryBlobStore, source: str, headers: dict[str, str]
) -> None:
    assert post(client, source, BODY, headers) == 201
    assert any(k.startswith(f"events/source={source}/") for k in store.objects)


TAMPERED = BODY.replace(b"7", b"8")


@pytest.mark.parametrize(
    ("source", "body", "headers"),
    [
        ("github", TAMPERED, github_headers(BODY)),
        ("github", BODY, github_headers(BODY, secret="wrong")),
        ("github", BODY, {}),
        ("stripe", TAMPERED, stripe_headers(BODY)),
        ("stripe", BODY, stripe_headers(BODY, at=int(time.time()) - 3600)),
        ("stripe", BODY, {}),
        ("acme", TAMPERED, standard_headers(BODY)),
        ("acme", BODY, standard_headers(BODY, at=datetime.now(UTC) - timedelta(minutes=10))),
        ("acme", BODY, {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "junk"}),
        ("acme", BODY, {}),
    ],
)
def test_each_verifier_rejects_a_tampered_stale_or_unsigned_request_and_stores_nothing(
    client: CoreClient,
    store: MemoryBlobStore,
    source: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    status, answer, _ = client.request(
        "POST", f"/webhook/{source}", body, {"content-type": "application/json", **headers}
    )
    assert (status, answer["error"]["code"]) == (401, "unauthorized")
    assert store.objects == {}
    assert GITHUB_SECRET not in json.dumps(answer)
