"""Deploys a zip to an Azure Functions Flex Consumption app through its supported path, One
Deploy (`POST https://<scm host>/api/publish`), from inside `pulumi up`.

Flex does not accept WEBSITE_RUN_FROM_PACKAGE, and azure-native has no resource for One Deploy,
so this small dynamic resource does it; a new archive hash is an update, which redeploys.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

ARM_SCOPE = "https://management.azure.com/.default"


def publish(scm_host: str, archive_path: str) -> None:
    """Upload the package; the platform stores it in the app's deployment container."""
    import urllib.request

    from azure.identity import DefaultAzureCredential

    token = DefaultAzureCredential().get_token(ARM_SCOPE).token
    with open(archive_path, "rb") as package:
        body = package.read()
    request = urllib.request.Request(
        f"https://{scm_host}/api/publish?RemoteBuild=false",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/zip"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        if response.status >= 300:
            raise RuntimeError(f"One Deploy to {scm_host} answered {response.status}")


class _OneDeploy(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        publish(props["scm_host"], props["archive_path"])
        return CreateResult(id_=f"{props['scm_host']}:{props['archive_sha256']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("scm_host", "archive_sha256")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        publish(news["scm_host"], news["archive_path"])
        return UpdateResult(outs=news)


class FlexDeployment(pulumi.dynamic.Resource):
    archive_sha256: pulumi.Output[str]
    scm_host: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        scm_host: pulumi.Input[str],
        archive_path: str,
        archive_sha256: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            _OneDeploy(),
            name,
            {
                "scm_host": scm_host,
                "archive_path": archive_path,
                "archive_sha256": archive_sha256,
            },
            opts,
        )
