"""The environment every cloud's function gets: the contract with functions/core/settings.py.

Split in two: plain settings, set as environment variables, and secrets, which each cloud keeps
in its own secret store and hands to the function the way that cloud intends (stacks/aws/,
gcp/, azure/). Local runs and the mesh keep environment variables. See docs/architecture.md.
"""

from __future__ import annotations

import pulumi

from functions.core import settings as keys
from stacks.config import StackConfig, flex_instance_mb
from stacks.peers import Peers, SigningKey


def function_environment(
    config: StackConfig, bucket: pulumi.Input[str], peers: Peers
) -> dict[str, pulumi.Input[str]]:
    flex = config.cloud == "azure" and config.azure_plan == "flex"
    return {
        keys.ORIGIN: config.cloud,
        keys.BUCKET: bucket,
        keys.PEER_URLS: peers.urls,
        keys.MAX_BODY_BYTES: str(config.max_body_bytes),
        keys.FANOUT_TIMEOUT: str(config.fanout_timeout_s),
        keys.RETRY_TIMEOUT: f"{config.retry_timeout_s:g}",
        keys.OUTBOX_MAX_ATTEMPTS: str(config.outbox_max_attempts),
        # The job lease's lifetime: a crashed run's lease lapses once the platform stopped it.
        keys.JOB_TIMEOUT: str(config.job_timeout_s),
        # DuckDB's memory limit is half of it (functions/core/duck.py): Flex's instance size.
        keys.MEMORY_MB: str(flex_instance_mb(config.memory_mb) if flex else config.memory_mb),
    }


def function_secrets(
    config: StackConfig, peers: Peers, key: SigningKey
) -> dict[str, pulumi.Output[str]]:
    """Environment name -> secret value, each a secret Output."""
    secrets = {
        keys.PEER_SECRET: key.key,
        keys.PEER_KEYS: peers.keys,
        keys.RETRY_TOKEN: key.retry_token,
        keys.READ_TOKEN: key.read_token,
    }
    if config.webhooks is not None:
        secrets[keys.WEBHOOKS] = config.webhooks
    return {name: pulumi.Output.secret(value) for name, value in secrets.items()}
