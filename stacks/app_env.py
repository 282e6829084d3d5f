"""The environment every cloud's function gets: the contract with functions/core/settings.py."""

from __future__ import annotations

import pulumi

from functions.core import settings as keys
from stacks.config import StackConfig


def function_environment(
    config: StackConfig, bucket: pulumi.Input[str], peers: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {
        keys.ORIGIN: config.cloud,
        keys.BUCKET: bucket,
        keys.PEER_URLS: peers,
        keys.MAX_BODY_BYTES: str(config.max_body_bytes),
        keys.FANOUT_TIMEOUT: str(config.fanout_timeout_s),
        keys.OUTBOX_MAX_ATTEMPTS: str(config.outbox_max_attempts),
    }
    if config.peer_secret is not None:
        env[keys.PEER_SECRET] = config.peer_secret
    if config.retry_token is not None:
        env[keys.RETRY_TOKEN] = config.retry_token
    if config.webhooks is not None:
        env[keys.WEBHOOKS] = config.webhooks
    return env
