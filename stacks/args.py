"""What every cloud's component takes: the stack's settings, its archive and its peers."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.config import StackConfig
from stacks.packaging import Archive


@dataclass(frozen=True)
class FunctionArgs:
    config: StackConfig
    archive: Archive
    peer_urls: pulumi.Input[str]
