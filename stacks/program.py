"""The Pulumi program: read config once, build this cloud's archive, provision its component,
export its outputs. See docs/deploying.md."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

import pulumi

from stacks import config as stack_config
from stacks.args import FunctionArgs
from stacks.packaging import Target, build_archive
from stacks.peers import read_peers, signing_key

if TYPE_CHECKING:
    from stacks.aws import AwsFunction
    from stacks.azure import AzureFunction
    from stacks.gcp import GcpFunction

    Component = AwsFunction | GcpFunction | AzureFunction


def main() -> Component:
    config = stack_config.load()
    archive = build_archive(Target(config.cloud, config.python, config.arch))
    peers = read_peers(config.peer_stacks)
    key = signing_key(config)
    component = provision(FunctionArgs(config, archive, peers, key))
    for field in fields(component.outputs):
        pulumi.export(field.name, getattr(component.outputs, field.name))
    pulumi.export("peer_urls", peers.urls)
    # Secret: the peers read it through StackReference to verify what this stack sends.
    pulumi.export("peer_signing_key", key.key)
    # Secret: the bearer token of the scheduled routes and of POST /internal/outbox/requeue.
    pulumi.export("retry_token", key.retry_token)
    # Secret: the bearer token for reading stored events (make smoke TOKEN=...).
    pulumi.export("read_token", key.read_token)
    pulumi.export(
        "archive",
        {
            "name": archive.object_name,
            "sha256": archive.sha256,
            "bytes": archive.path.stat().st_size,
        },
    )
    return component


def provision(args: FunctionArgs) -> Component:
    """This cloud's component; only its own provider SDK is imported."""
    if args.config.cloud == "aws":
        from stacks.aws import AwsFunction

        return AwsFunction("lambda", args)
    if args.config.cloud == "gcp":
        from stacks.gcp import GcpFunction

        return GcpFunction("lambda", args)
    from stacks.azure import AzureFunction

    return AzureFunction("lambda", args)
