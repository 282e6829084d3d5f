"""Peer signing with a key per deployment: each signs with its own key, and accepts the keys of
its peers (LAMBDA_PEER_KEYS), or its own key alone when it has none (the local mesh)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.core.errors import ConfigError, Unauthorized
from functions.core.settings import Settings
from functions.core.signing import PeerSigner

BODY = b'{"id":"e1"}'


def signed_by(key: str) -> dict[str, str]:
    return PeerSigner(key).headers("msg-1", BODY, datetime.now(UTC))


def test_a_receiver_accepts_a_request_signed_with_any_of_its_peers_keys() -> None:
    receiver = PeerSigner("own-key", trusted=["gcp-key", "azure-key"])
    receiver.verify(BODY, signed_by("gcp-key"))
    receiver.verify(BODY, signed_by("azure-key"))


def test_a_receiver_with_peer_keys_rejects_its_own_key_and_unknown_keys() -> None:
    receiver = PeerSigner("own-key", trusted=["gcp-key"])
    for key in ("own-key", "attacker-key"):
        with pytest.raises(Unauthorized, match="signature rejected"):
            receiver.verify(BODY, signed_by(key))


def test_a_receiver_without_peer_keys_accepts_its_own_key_only() -> None:
    receiver = PeerSigner("shared-key")
    receiver.verify(BODY, signed_by("shared-key"))
    with pytest.raises(Unauthorized):
        receiver.verify(BODY, signed_by("other-key"))


def test_peer_keys_are_read_as_a_json_array_and_kept_out_of_the_repr() -> None:
    settings = Settings.from_env({"LAMBDA_PEER_KEYS": '["k1", "k,2"]'})
    assert settings.peer_keys == ("k1", "k,2")
    assert "k1" not in repr(settings)
    assert Settings.from_env({"LAMBDA_PEER_KEYS": "[]"}).peer_keys == ()


@pytest.mark.parametrize("raw", ['"k1"', "[1]", '[""]', "k1,k2", "{"])
def test_malformed_peer_keys_fail_at_start_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="LAMBDA_PEER_KEYS"):
        Settings.from_env({"LAMBDA_PEER_KEYS": raw})
