"""What every cloud's component takes: the stack's settings, its archive, its peers and key.
See docs/architecture.md."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.config import StackConfig
from stacks.packaging import Archive
from stacks.peers import Peers, SigningKey


@dataclass(frozen=True)
class FunctionArgs:
    config: StackConfig
    archive: Archive
    peers: Peers
    key: SigningKey

    def environment(self, bucket: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        """Plain settings only: the secrets go through each cloud's secret store."""
        from stacks.app_env import function_environment

        return function_environment(self.config, bucket, self.peers)

    def secrets(self) -> dict[str, pulumi.Output[str]]:
        from stacks.app_env import function_secrets

        return function_secrets(self.config, self.peers, self.key)
