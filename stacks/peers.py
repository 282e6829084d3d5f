"""Peer base URLs, read from the other stacks' `base_url` outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi


def peer_urls(
    peer_stacks: Sequence[str], parent: pulumi.Resource | None = None
) -> pulumi.Output[str]:
    """Comma-separated base URLs of the peers that are deployed.

    A peer stack that exists but has no `base_url` yet (never deployed) gives None and is
    skipped: the stack picks it up on its next `pulumi up`. A stack that does not exist at all
    fails inside the engine and cannot be caught here (the README has users init all three).
    """
    outputs = [
        pulumi.StackReference(name, opts=pulumi.ResourceOptions(parent=parent)).get_output(
            "base_url"
        )
        for name in peer_stacks
    ]
    return pulumi.Output.all(*outputs).apply(_join)


def _join(urls: Sequence[Any]) -> str:
    return ",".join(str(url).rstrip("/") for url in urls if url)
