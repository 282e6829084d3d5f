"""Inbound webhook verification, with signatures made the way each sender makes them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
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


# Each case's headers are signed when the test runs, never when the suite is collected: a
# signature's timestamp must not age while other tests run.
Sign = Callable[[], dict[str, str]]


@pytest.mark.parametrize(
    ("source", "sign"),
    [
        ("github", lambda: github_headers(BODY)),
        ("stripe", lambda: stripe_headers(BODY)),
        ("acme", lambda: standard_headers(BODY)),
        ("open", dict),
        ("unlisted", dict),
    ],
)
def test_each_verifier_accepts_a_correctly_signed_request(
    client: CoreClient, store: MemoryBlobStore, source: str, sign: Sign
) -> None:
    assert post(client, source, BODY, sign()) == 201
    assert any(k.startswith(f"events/source={source}/") for k in store.objects)


TAMPERED = BODY.replace(b"7", b"8")


@pytest.mark.parametrize(
    ("source", "body", "sign"),
    [
        ("github", TAMPERED, lambda: github_headers(BODY)),
        ("github", BODY, lambda: github_headers(BODY, secret="wrong")),
        ("github", BODY, dict),
        ("stripe", TAMPERED, lambda: stripe_headers(BODY)),
        ("stripe", BODY, lambda: stripe_headers(BODY, at=int(time.time()) - 3600)),
        ("stripe", BODY, dict),
        ("acme", TAMPERED, lambda: standard_headers(BODY)),
        (
            "acme",
            BODY,
            lambda: standard_headers(BODY, at=datetime.now(UTC) - timedelta(minutes=10)),
        ),
        (
            "acme",
            BODY,
            lambda: {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "junk"},
        ),
        ("acme", BODY, dict),
    ],
)
def test_each_verifier_rejects_a_tampered_stale_or_unsigned_request_and_stores_nothing(
    client: CoreClient,
    store: MemoryBlobStore,
    source: str,
    body: bytes,
    sign: Sign,
) -> None:
    status, answer, _ = client.request(
        "POST", f"/webhook/{source}", body, {"content-type": "application/json", **sign()}
    )
    assert (status, answer["error"]["code"]) == (401, "unauthorized")
    assert store.objects == {}
    assert GITHUB_SECRET not in json.dumps(answer)
