"""The Pulumi program: read config once, build this cloud's archive, provision its component."""

from __future__ import annotations

import pulumi

from stacks import config as stack_config
from stacks.args import FunctionArgs
from stacks.packaging import Target, build_archive
from stacks.peers import peer_urls


def main() -> pulumi.ComponentResource:
    config = stack_config.load()
    archive = build_archive(Target(config.cloud, config.python, config.arch))
    peers = peer_urls(config.peer_stacks)
    component: pulumi.ComponentResource
    args = FunctionArgs(config, archive, peers)
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
    pulumi.export("peer_urls", peers)
    pulumi.export(
        "archive",
        {
            "name": archive.object_name,
            "sha256": archive.sha256,
            "bytes": archive.path.stat().st_size,
        },
    )
    return component
