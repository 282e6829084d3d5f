"""Peer requests are signed and verified in the Standard Webhooks format (HMAC-SHA256 over id,
timestamp and body), with the `standardwebhooks` library (docs/peers.md, signing)."""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from functions.core.errors import Unauthorized


def webhook_for(secret: str) -> Webhook:
    """A `whsec_...` secret is base64 as the format defines; any other string is used as is."""
    return Webhook(secret) if secret.startswith("whsec_") else Webhook(secret.encode())


class PeerSigner:
    """Signs outgoing and verifies incoming `/internal/event` requests (5-minute tolerance).

    Each deployment signs with its own key. Incoming requests are checked against the peers'
    keys (`trusted`: one per peer, so a leaked key lets its holder impersonate one cloud only);
    with none given, against the own key (the local mesh shares one key).
    """

    def __init__(self, secret: str, trusted: Sequence[str] = ()) -> None:
        self._webhook = webhook_for(secret)
        self._trusted = [webhook_for(key) for key in trusted] or [self._webhook]

    def headers(self, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
        signature = self._webhook.sign(message_id, now, body.decode())
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        first: Unauthorized | None = None
        for webhook in self._trusted:
            try:
                verify_standard(webhook, body, headers)
                return
            except Unauthorized as exc:
                first = first or exc
        assert first is not None  # _trusted is never empty
        raise first


def verify_standard(webhook: Webhook, body: bytes, headers: Mapping[str, str]) -> None:
    try:
        webhook.verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        # The library's message says which check failed (missing, too old, no match), never
        # the secret or the expected signature.
        raise Unauthorized(f"signature rejected: {exc}") from exc
