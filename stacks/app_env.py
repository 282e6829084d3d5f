"""The environment every cloud's function gets: the contract with functions/core/settings.py."""

from __future__ import annotations

import pulumi

from functions.core import settings as keys
from stacks.config import StackConfig
from stacks.peers import Peers, SigningKey


def function_environment(
    config: StackConfig, bucket: pulumi.Input[str], peers: Peers, key: SigningKey
) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {
        keys.ORIGIN: config.cloud,
        keys.BUCKET: bucket,
        keys.PEER_URLS: peers.urls,
        keys.PEER_SECRET: key.key,
        keys.PEER_KEYS: peers.keys,
        keys.RETRY_TOKEN: key.retry_token,
        keys.READ_TOKEN: key.read_token,
        keys.MAX_BODY_BYTES: str(config.max_body_bytes),
        keys.FANOUT_TIMEOUT: str(config.fanout_timeout_s),
        keys.OUTBOX_MAX_ATTEMPTS: str(config.outbox_max_attempts),
        # DuckDB's memory limit is half of it (functions/core/duck.py); Flex's is at least 2048.
        keys.MEMORY_MB: str(
            max(2048, config.memory_mb)
            if config.cloud == "azure" and config.azure_plan == "flex"
            else config.memory_mb
        ),
    }
    if config.webhooks is not None:
        env[keys.WEBHOOKS] = config.webhooks
    return env
