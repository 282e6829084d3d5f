"""Our Stripe-Signature verifier against Stripe's own SDK, the oracle, on generated deliveries:
valid, tampered, stale, several v1 signatures, rolled secrets, malformed headers. Each case is
signed inside the test, at the time it runs, so the suite's duration never ages a signature."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe import SignatureVerificationError
from stripe._webhook import WebhookSignature

from functions.core.errors import Unauthorized
from functions.core.http import Request
from functions.core.settings import WebhookRule
from functions.core.verifiers import verify_stripe

TOLERANCE = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def ours(secret: str, body: bytes, header: str | None) -> bool:
    headers = {} if header is None else {"stripe-signature": header}
    try:
        verify_stripe(
            WebhookRule("stripe", secret, TOLERANCE), Request("POST", "/", headers, {}, body)
        )
    except Unauthorized:
        return False
    return True


def oracle(secret: str, body: bytes, header: str | None) -> bool:
    try:
        WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE)
    except (SignatureVerificationError, UnicodeDecodeError):
        return False
    return True


secrets_ = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
).map(lambda s: "whsec_" + s)
bodies = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode()))
# Ages well inside or well outside the tolerance: never within a second of its edge.
ages = st.one_of(st.integers(-3600, TOLERANCE - 5), st.integers(TOLERANCE + 5, 10**6))


@settings(max_examples=300, deadline=None)
@given(
    secret=secrets_,
    old_secret=secrets_,
    body=bodies,
    age=ages,
    shape=st.sampled_from(
        [
            "valid",
            "tampered_body",
            "tampered_sig",
            "rolled_both",
            "rolled_old_only",
            "v0_only",
            "no_t",
            "extra_fields",
            "spaces",
            "empty",
        ]
    ),
)
def test_our_verifier_agrees_with_stripes_sdk(
    secret: str, old_secret: str, body: bytes, age: int, shape: str
) -> None:
    t = int(time.time()) - age
    good = sign(secret, t, body)
    header = {
        "valid": f"t={t},v1={good}",
        "tampered_body": f"t={t},v1={sign(secret, t, body + b'x')}",
        "tampered_sig": f"t={t},v1={good[:-1]}{'0' if good[-1] != '0' else '1'}",
        "rolled_both": f"t={t},v1={sign(old_secret, t, body)},v1={good}",
        "rolled_old_only": f"t={t},v1={sign(old_secret, t, body)}",
        "v0_only": f"t={t},v0={good}",
        "no_t": f"v1={good}",
        "extra_fields": f"t={t},v1={good},foo=bar=baz",
        "spaces": f"t= {t},v1={good}",
        "empty": "",
    }[shape]
    assert ours(secret, body, header) == oracle(secret, body, header), (shape, header)


@pytest.mark.parametrize(
    ("case", "accepted"),
    [("fresh", True), ("stale", False), ("missing header", False), ("not utf-8", False)],
)
def test_named_cases_behave_as_stripe_documents(case: str, accepted: bool) -> None:
    secret, now = "whsec_test", int(time.time())
    body = b"\xff\xfe" if case == "not utf-8" else b'{"id": "evt_1"}'
    t = now - (TOLERANCE + 60 if case == "stale" else 0)
    header = None if case == "missing header" else f"t={t},v1={sign(secret, t, body)}"
    assert ours(secret, body, header) is accepted
    assert oracle(secret, body, header) is accepted


@pytest.mark.parametrize("extra", ["=x", "=x=y", "=="])
def test_an_item_with_more_equals_signs_is_split_as_stripes_library_splits_it(extra: str) -> None:
    secret, body, now = "whsec_eq", b'{"id": "evt_eq"}', int(time.time())
    header = f"t={now}{extra},v1={sign(secret, now, body)}"
    assert ours(secret, body, header) == oracle(secret, body, header)
    assert ours(secret, body, header) is True  # Stripe reads the timestamp before a second '='
