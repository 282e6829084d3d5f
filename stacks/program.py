"""The Pulumi program: read config once, build this cloud's archive, provision its component."""

from __future__ import annotations

import pulumi

from stacks import config as stack_config
from stacks.args import FunctionArgs
from stacks.packaging import Target, build_archive
from stacks.peers import read_peers, signing_key


def main() -> pulumi.ComponentResource:
    config = stack_config.load()
    archive = build_archive(Target(config.cloud, config.python, config.arch))
    peers = read_peers(config.peer_stacks)
    key = signing_key(config)
    args = FunctionArgs(config, archive, peers, key)
    component: pulumi.ComponentResource
    if config.cloud == "aws":
        from stacks.aws import AwsFunction

        component = AwsFunction("lambda", args)
    elif config.cloud == "gcp":
        from stacks.gcp import GcpFunction

        component = GcpFunction("lambda", args)
    else:
        from stacks.azure import AzureFunction

        component = AzureFunction("lambda", args)
    pulumi.export("base_url", component.base_url)
    for name, value in component.outputs.items():
        pulumi.export(name, value)
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
