"""Azure: how the app reaches its code. Flex Consumption deploys into a blob container the
app reads with its identity; Linux Consumption runs from a package blob behind a read-only SAS
URL, with the account key in its storage connection. Values only, no resources.
See docs/deploying.md (Azure).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_azure_native as azure

from stacks.config import StackConfig, flex_instance_mb


def scm_host(ssl_states: Sequence[Any] | None, hosts: Sequence[str] | None) -> str:
    """The app's deployment (Kudu) host: the `Repository` entry of its host name states, else
    the enabled host name with `.scm.` in it. Fails with a clear message, never StopIteration."""
    for state in ssl_states or []:
        if getattr(state, "host_type", None) == "Repository" and getattr(state, "name", None):
            return str(state.name)
    for host in hosts or []:
        if ".scm." in host:
            return host
    raise pulumi.RunError(
        f"the function app reports no deployment (scm) host among {list(hosts or [])}"
    )


def sas_expiry(now: datetime) -> str:
    """A package URL's SAS ends on 1 January two years on: always over a year away, and the
    same value all year, so `pulumi up` does not restart the app for a new expiry each time.
    Any `pulumi up` in a later year moves it on (docs/deploying.md: run one at least yearly)."""
    return f"{now.year + 2}-01-01T00:00:00Z"


def flex_config(
    config: StackConfig, deployments: pulumi.Input[str]
) -> azure.web.FunctionAppConfigArgs:
    """Flex Consumption: the code in the `deployments` container (its URL), read with the
    app's own identity; the runtime, the instance size and the always-ready instances."""
    return azure.web.FunctionAppConfigArgs(
        deployment=azure.web.FunctionsDeploymentArgs(
            storage=azure.web.FunctionsDeploymentStorageArgs(
                type="blobContainer",
                value=deployments,
                authentication=azure.web.FunctionsDeploymentStorageAuthenticationArgs(
                    type="SystemAssignedIdentity"
                ),
            )
        ),
        runtime=azure.web.FunctionsRuntimeArgs(name="python", version=config.python),
        scale_and_concurrency=azure.web.FunctionsScaleAndConcurrencyArgs(
            instance_memory_mb=flex_instance_mb(config.memory_mb),
            maximum_instance_count=100,
            # `http` is the group of every HTTP-triggered function.
            always_ready=[
                azure.web.FunctionsAlwaysReadyConfigArgs(
                    name="http", instance_count=config.min_instances
                )
            ]
            if config.min_instances
            else None,
        ),
    )


def connection_string(
    account: azure.storage.StorageAccount, group: azure.resources.ResourceGroup
) -> pulumi.Output[str]:
    """The account's connection string with its first key (a secret)."""
    keys = azure.storage.list_storage_account_keys_output(
        account_name=account.name, resource_group_name=group.name
    )
    key = pulumi.Output.secret(keys.keys[0].value)
    connection: pulumi.Output[str] = pulumi.Output.format(
        "DefaultEndpointsProtocol=https;AccountName={0};AccountKey={1};"
        "EndpointSuffix=core.windows.net",
        account.name,
        key,
    )
    return connection


def package_url(
    account: azure.storage.StorageAccount,
    group: azure.resources.ResourceGroup,
    packages: azure.storage.BlobContainer,
    blob: azure.storage.Blob,
) -> pulumi.Output[str]:
    """The package blob's URL with a read-only SAS on its container (expiry: sas_expiry)."""
    sas = azure.storage.list_storage_account_service_sas_output(
        account_name=account.name,
        resource_group_name=group.name,
        protocols=azure.storage.HttpProtocol.HTTPS,
        permissions="r",
        resource=azure.storage.SignedResource.C,
        canonicalized_resource=pulumi.Output.format("/blob/{0}/{1}", account.name, packages.name),
        shared_access_expiry_time=sas_expiry(datetime.now(UTC)),
    )
    url: pulumi.Output[str] = pulumi.Output.format(
        "{0}{1}/{2}?{3}",
        account.primary_endpoints.blob,
        packages.name,
        blob.name,
        sas.service_sas_token,
    )
    return url
