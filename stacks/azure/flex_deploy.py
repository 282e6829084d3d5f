"""Dynamic resources for what azure-native has no resource for (calls in stacks/azure/arm.py).
See docs/deploying.md (Azure).

- `FlexDeployment`: deploys the zip to a Flex Consumption app through its supported path, One
  Deploy, and waits for the deployment's final status: a failed deploy fails `pulumi up`, so the
  next `pulumi up` retries it instead of recording it as done. A new archive hash redeploys.
- `ProviderRegistration`: registers the resource providers the app needs in the subscription
  (a fresh subscription has few registered), before anything is created.
- `TriggerSync`: on Linux Consumption, syncs triggers after each package change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from stacks.azure import arm as azure_arm


def _http(props: dict[str, Any]) -> azure_arm.Http:
    settings = azure_arm.auth_settings(
        {**props.get("auth", {}), "clientSecret": props.get("client_secret") or ""}
    )
    return azure_arm.Http(azure_arm.token_source(settings))


def _diff(olds: dict[str, Any], news: dict[str, Any], keys: tuple[str, ...]) -> DiffResult:
    changed = [k for k in keys if olds.get(k) != news.get(k)]
    return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)


class _OneDeploy(ResourceProvider):
    def _deploy(self, props: dict[str, Any]) -> str:
        archive = Path(props["archive_path"]).read_bytes()
        return azure_arm.publish(_http(props), f"https://{props['scm_host']}", archive)

    def create(self, props: dict[str, Any]) -> CreateResult:
        deployment = self._deploy(props)
        return CreateResult(
            id_=f"{props['scm_host']}:{props['archive_sha256']}",
            outs={**props, "deployment_id": deployment},
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, ("scm_host", "archive_sha256"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, "deployment_id": self._deploy(news)})


class _Registration(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        azure_arm.register_providers(_http(props), props["subscription"], props["namespaces"])
        return CreateResult(id_=f"{props['subscription']}:providers", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, ("subscription", "namespaces"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        azure_arm.register_providers(_http(news), news["subscription"], news["namespaces"])
        return UpdateResult(outs=news)


class _TriggerSync(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        azure_arm.sync_triggers(_http(props), props["app_id"])
        return CreateResult(id_=f"{props['app_id']}:{props['package']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, ("app_id", "package"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        azure_arm.sync_triggers(_http(news), news["app_id"])
        return UpdateResult(outs=news)


class FlexDeployment(pulumi.dynamic.Resource):
    archive_sha256: pulumi.Output[str]
    scm_host: pulumi.Output[str]
    deployment_id: pulumi.Output[str]

    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(_OneDeploy(), name, {"deployment_id": None, **props}, opts)


class ProviderRegistration(pulumi.dynamic.Resource):
    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(_Registration(), name, props, opts)


class TriggerSync(pulumi.dynamic.Resource):
    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(_TriggerSync(), name, props, opts)


# Pulumi pickles a dynamic provider by reference (module and class name) into the state of every
# resource it manages, and unpickles the state's copy to refresh or delete one. These were first
# deployed as `stacks.flex_deploy._OneDeploy` (and so on): they keep that name, which
# stacks/flex_deploy.py resolves, so that deployed stacks keep working and nothing shows a diff.
STATE_MODULE = "stacks.flex_deploy"
for _provider in (_OneDeploy, _Registration, _TriggerSync):
    _provider.__module__ = STATE_MODULE
