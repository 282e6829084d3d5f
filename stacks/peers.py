"""Peers: their base URLs and signing keys, read from the other stacks' outputs, and this
stack's own signing key.

Each stack signs what it sends with a key of its own (generated once, kept in its state as a
secret) and exports it as the secret output `peer_signing_key`; a peer verifies with it. So a
lone stack needs no secret from its user, a mesh needs none either (the keys travel through
StackReference like the URLs do, and converge on the same `pulumi up` passes), and a key that
leaks lets its holder impersonate one cloud, not all three. See docs/peers.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random

from stacks.config import StackConfig


@dataclass(frozen=True)
class Peers:
    urls: pulumi.Output[str]  # comma-separated base URLs of the deployed peers
    keys: pulumi.Output[str]  # secret: JSON array of their signing keys


@dataclass(frozen=True)
class SigningKey:
    key: pulumi.Output[str]  # secret

    def _derived(self, purpose: bytes) -> pulumi.Output[str]:
        return pulumi.Output.secret(
            self.key.apply(lambda key: hmac.new(key.encode(), purpose, hashlib.sha256).hexdigest())
        )

    @property
    def retry_token(self) -> pulumi.Output[str]:
        """The scheduled routes' bearer token, derived from the key: one secret less to manage,
        still a secret Output, never plain text in state."""
        return self._derived(b"lambda-outbox-retry")

    @property
    def read_token(self) -> pulumi.Output[str]:
        """The readers' bearer token (GET /query, /peers in full): derived likewise, apart from
        the retry token so that a reader cannot trigger jobs."""
        return self._derived(b"lambda-read")


def signing_key(config: StackConfig) -> SigningKey:
    """`lambda:peerSecret` when set (to rotate, or to share one key), else a generated one."""
    if config.peer_secret is not None:
        return SigningKey(pulumi.Output.secret(config.peer_secret))
    generated = random.RandomPassword("lambda-peer-key", length=48, special=False)
    return SigningKey(pulumi.Output.secret(generated.result))


def read_peers(peer_stacks: Sequence[str]) -> Peers:
    """A peer stack that exists but was never deployed has no outputs yet and is skipped: this
    stack picks it up on its next `pulumi up`. A peer stack that does not exist at all fails in
    the engine, which is why `lambda:peerStacks` is empty unless the user builds a mesh."""
    references = [pulumi.StackReference(name) for name in peer_stacks]
    urls = [ref.get_output("base_url") for ref in references]
    keys = [ref.get_output("peer_signing_key") for ref in references]
    pairs = pulumi.Output.all(pulumi.Output.all(*urls), pulumi.Output.all(*keys))
    return Peers(
        urls=pairs.apply(lambda p: _join(p[0], p[1])),
        keys=pulumi.Output.secret(pairs.apply(lambda p: _keys(p[0], p[1]))),
    )


def _deployed(urls: Sequence[Any], keys: Sequence[Any]) -> list[tuple[str, str]]:
    """Only peers that export both: a URL without a key could not verify our requests."""
    return [(str(u).rstrip("/"), str(k)) for u, k in zip(urls, keys, strict=True) if u and k]


def _join(urls: Sequence[Any], keys: Sequence[Any]) -> str:
    return ",".join(url for url, _ in _deployed(urls, keys))


def _keys(urls: Sequence[Any], keys: Sequence[Any]) -> str:
    return json.dumps([key for _, key in _deployed(urls, keys)])
