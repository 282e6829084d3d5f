"""Inbound webhook verification per source: GitHub, Stripe, Standard Webhooks, or none."""

from __future__ import annotations

import hashlib
import hmac
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


def verify_stripe(rule: WebhookRule, request: Request) -> None:
    """`Stripe-Signature`, checked by Stripe's own library, with its timestamp tolerance."""
    from stripe import SignatureVerificationError
    from stripe._webhook import WebhookSignature  # the library's verifier; ~0.4 s to import

    try:
        WebhookSignature.verify_header(
            request.body,
            request.header("stripe-signature"),
            rule.secret,
            tolerance=rule.tolerance_s,
        )
    except (SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
        raise Unauthorized("Stripe-Signature is missing, stale or does not match") from exc


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
