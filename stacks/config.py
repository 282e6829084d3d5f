"""Every `pulumi.Config` read of the program, in one place, into a frozen settings object."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

import pulumi

CLOUDS = ("aws", "gcp", "azure")
DEFAULT_PYTHON = {"aws": "3.12", "gcp": "3.12", "azure": "3.12"}
DEFAULT_ARCH = {"aws": "arm64", "gcp": "x86_64", "azure": "x86_64"}


@dataclass(frozen=True)
class StackConfig:
    """The stack's documented settings (see Pulumi.<stack>.yaml and the README)."""

    cloud: str
    project: str
    stack: str
    region: str
    python: str
    arch: str
    memory_mb: int
    timeout_s: int
    log_retention_days: int
    peer_stacks: tuple[str, ...]
    gcp_project: str | None = None
    azure_plan: str = "flex"
    max_body_bytes: int = 1024 * 1024
    fanout_timeout_s: float = 2.0
    outbox_max_attempts: int = 12
    retry_schedule_minutes: int = 1
    peer_secret: pulumi.Output[str] | None = field(default=None, compare=False)
    webhooks: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def retry_token(self) -> pulumi.Output[str] | None:
        """Derived from the peer secret, so there is one secret less to manage; still a
        secret Output, never plain text in state."""
        if self.peer_secret is None:
            return None
        return pulumi.Output.secret(
            self.peer_secret.apply(
                lambda secret: hmac.new(
                    secret.encode(), b"lambda-outbox-retry", hashlib.sha256
                ).hexdigest()
            )
        )

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"[:40]


def default_peer_stacks(org: str, project: str, cloud: str) -> tuple[str, ...]:
    """The other two stacks, fully qualified."""
    return tuple(f"{org}/{project}/{other}" for other in CLOUDS if other != cloud)


def load() -> StackConfig:
    config = pulumi.Config()
    project, stack = pulumi.get_project(), pulumi.get_stack()
    cloud = config.get("cloud") or stack
    if cloud not in CLOUDS:
        raise ValueError(
            f"lambda:cloud must be one of {CLOUDS}, not {cloud!r} (it defaults to the stack name)"
        )
    peers = config.get_object("peerStacks")
    if peers is None:
        peers = default_peer_stacks(pulumi.get_organization(), project, cloud)
    return StackConfig(
        cloud=cloud,
        project=project,
        stack=stack,
        region=config.get("region") or _provider_region(cloud),
        python=config.get("pythonVersion") or DEFAULT_PYTHON[cloud],
        arch=config.get("architecture") or DEFAULT_ARCH[cloud],
        memory_mb=config.get_int("memoryMb") or 512,
        timeout_s=config.get_int("timeoutSeconds") or 30,
        log_retention_days=config.get_int("logRetentionDays") or 14,
        peer_stacks=tuple(str(p) for p in peers),
        gcp_project=config.get("gcpProject") or pulumi.Config("gcp").get("project"),
        azure_plan=config.get("azurePlan") or "flex",
        max_body_bytes=config.get_int("maxBodyBytes") or 1024 * 1024,
        fanout_timeout_s=config.get_float("fanoutTimeoutSeconds") or 2.0,
        outbox_max_attempts=config.get_int("outboxMaxAttempts") or 12,
        retry_schedule_minutes=config.get_int("retryScheduleMinutes") or 1,
        # Peers sign every request with it: required, set with `pulumi config set --secret`.
        peer_secret=config.require_secret("peerSecret"),
        webhooks=_webhooks(config),
    )


def _webhooks(config: pulumi.Config) -> pulumi.Output[str] | None:
    """lambda:webhooks (secret object): {"github": {"scheme": "github", "secret": "..."}}."""
    rules = config.get_secret_object("webhooks")
    return None if rules is None else pulumi.Output.secret(rules.apply(json.dumps))


def _provider_region(cloud: str) -> str:
    key = {
        "aws": ("aws", "region"),
        "gcp": ("gcp", "region"),
        "azure": ("azure-native", "location"),
    }[cloud]
    value = pulumi.Config(key[0]).get(key[1])
    if not value:
        raise ValueError(f"set lambda:region or {key[0]}:{key[1]} for the {cloud} stack")
    return value
