"""Inbound webhook verification per source: GitHub, Stripe, Standard Webhooks, or none
(docs/peers.md, inbound verification)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from functions.core.errors import Unauthorized
from functions.core.http import Request
from functions.core.settings import WebhookRule
from functions.core.signing import verify_standard, webhook_for


def verify_github(rule: WebhookRule, request: Request) -> None:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` (GitHub's scheme)."""
    received = request.header("x-hub-signature-256") or ""
    expected = "sha256=" + hmac.new(rule.secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(received.encode(), expected.encode()):
        raise Unauthorized("X-Hub-Signature-256 is missing or does not match")


def verify_stripe(
    rule: WebhookRule, request: Request, now: Callable[[], float] = time.time
) -> None:
    """`Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>...]`, Stripe's documented scheme
    (docs.stripe.com/webhooks, "verify manually"): HMAC-SHA256 keyed with the endpoint secret
    over `<t>.<raw body>`, compared in constant time with every `v1` (there are several while a
    secret is being rolled), and `t` no older than the tolerance.

    Stripe's SDK (12.6 MiB, and `requests` with it) did this in a single call; the tests keep it
    as an oracle this function must agree with on generated cases.
    """
    failure = Unauthorized("Stripe-Signature is missing, stale or does not match")
    header = request.header("stripe-signature")
    try:
        payload = request.body.decode("utf-8")  # the SDK signs the text form of the body
        items = [item.split("=", 2) for item in (header or "").split(",")]
        timestamp = int(next(item[1] for item in items if item[0] == "t"))
        signatures = [item[1] for item in items if item[0] == "v1"]
    except (UnicodeDecodeError, StopIteration, IndexError, ValueError) as exc:
        raise failure from exc
    expected = hmac.new(
        rule.secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures):
        raise failure
    if rule.tolerance_s and timestamp < now() - rule.tolerance_s:
        raise failure


def verify_standard_webhook(rule: WebhookRule, request: Request) -> None:
    verify_standard(webhook_for(rule.secret), request.body, request.headers)


def verify_nothing(rule: WebhookRule, request: Request) -> None:
    return None


VERIFIERS: dict[str, Callable[[WebhookRule, Request], None]] = {
    "github": verify_github,
    "stripe": verify_stripe,
    "standard": verify_standard_webhook,
    "none": verify_nothing,
}


def verify_webhook(rules: dict[str, WebhookRule], source: str, request: Request) -> None:
    """Raise `Unauthorized` unless the request passes its source's rule (none: no check)."""
    rule = rules.get(source)
    if rule is not None:
        VERIFIERS[rule.scheme](rule, request)
