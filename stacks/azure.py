"""Azure: resource group, a locked-down storage account with the events container, and the
function app on the Flex Consumption plan (default) or Linux Consumption (`azurePlan`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_azure_native as azure

from stacks.args import FunctionArgs
from stacks.config import StackConfig
from stacks.flex_deploy import FlexDeployment, ProviderRegistration, TriggerSync
from stacks.packaging import Archive
from stacks.query_tables import COST_MODEL, LATE_NOTE, synapse_example

# Storage Blob Data Owner: the Functions host needs it on its own storage (deployment package,
# leases); the app's data access rides on the same assignment, scoped to this account only.
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"

# Resource providers a fresh subscription may not have registered. Flex Consumption apps are
# Microsoft.Web sites whose instances the platform runs through Microsoft.App.
PROVIDERS = {
    "flex": ["Microsoft.Web", "Microsoft.Storage", "Microsoft.App"],
    "consumption": ["Microsoft.Web", "Microsoft.Storage"],
}


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
    Any `pulumi up` in a later year moves it on; the README says to run one at least yearly."""
    return f"{now.year + 2}-01-01T00:00:00Z"


# Key Vault Secrets User: read secret values, nothing else, granted on this vault only.
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


class AzureFunction(pulumi.ComponentResource):
    base_url: pulumi.Output[str]
    outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:azure:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self._auth = {
            "auth": config.azure_auth.settings,
            "client_secret": config.azure_auth.client_secret,
        }
        flex = config.azure_plan == "flex"
        client = azure.authorization.get_client_config_output()
        self._subscription = client.subscription_id
        registration = ProviderRegistration(
            f"{name}-providers",
            {
                "subscription": client.subscription_id,
                "namespaces": PROVIDERS[config.azure_plan],
                **self._auth,
            },
            opts=child,
        )
        # Stored events outlive the stack: the group, the account and the events container are
        # protected, so `pulumi destroy` stops before deleting them (README).
        kept = pulumi.ResourceOptions(parent=self, protect=True)
        self.group = azure.resources.ResourceGroup(
            f"{name}-rg",
            location=config.region,
            tags=config.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[registration]),
        )
        self.account = azure.storage.StorageAccount(
            f"{name}sa".replace("-", "")[:20],
            resource_group_name=self.group.name,
            location=config.region,
            kind="StorageV2",
            sku=azure.storage.SkuArgs(name="Standard_LRS"),
            allow_blob_public_access=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            # Flex runs on managed identity only; Linux Consumption still needs account keys.
            allow_shared_key_access=not flex,
            tags=config.tags,
            opts=kept,
        )
        self.container = self._container(f"{name}-events", kept)
        blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        env = args.environment(self.container.name)
        env["LAMBDA_AZURE_ACCOUNT_URL"] = blob_endpoint
        self.vault = self._vault(name, config, client, child)
        env.update(self._vault_references(name, args.secrets(), child))
        if flex:
            self.app = self._flex_app(name, config, env, blob_endpoint, args.archive, child)
        else:
            self.app = self._consumption_app(name, config, env, args.archive, child)
        self._grant(f"{name}-vault-reader", self.app, KEY_VAULT_SECRETS_USER, self.vault.id, child)
        self.base_url = self.app.default_host_name.apply(lambda host: f"https://{host}")
        self.outputs = {
            "bucket": self.container.name,
            "storage_account": self.account.name,
            "functions": {"app": self.app.name},
            "logs_url": self.app.id.apply(
                lambda app_id: f"https://portal.azure.com/#resource{app_id}/logStream"
            ),
            # Synapse serverless SQL reads the files in place; it needs a workspace, which
            # this stack does not create (README: why, and the query to run).
            "query_example": pulumi.Output.all(self.account.name, self.container.name).apply(
                lambda names: synapse_example(names[0], names[1])
            ),
            "query_cost_model": COST_MODEL,
            "query_not_compacted_yet": LATE_NOTE,
        }
        self.register_outputs({"base_url": self.base_url, **self.outputs})

    def _vault(
        self, name: str, config: StackConfig, client: Any, child: pulumi.ResourceOptions
    ) -> azure.keyvault.Vault:
        """The app's secrets live in a Key Vault with RBAC authorization; app settings hold
        Key Vault references the platform resolves with the app's identity."""
        return azure.keyvault.Vault(
            f"{name}-kv",
            resource_group_name=self.group.name,
            location=config.region,
            properties=azure.keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=azure.keyvault.SkuArgs(
                    family=azure.keyvault.SkuFamily.A, name=azure.keyvault.SkuName.STANDARD
                ),
                enable_rbac_authorization=True,
            ),
            tags=config.tags,
            opts=child,
        )

    def _vault_references(
        self, name: str, secrets: dict[str, pulumi.Output[str]], child: pulumi.ResourceOptions
    ) -> dict[str, pulumi.Input[str]]:
        references: dict[str, pulumi.Input[str]] = {}
        for key, value in sorted(secrets.items()):
            slug = key.lower().replace("_", "-")
            secret = azure.keyvault.Secret(
                f"{name}-{slug}",
                secret_name=slug,
                vault_name=self.vault.name,
                resource_group_name=self.group.name,
                properties=azure.keyvault.SecretPropertiesArgs(value=value),
                opts=child,
            )
            # Without a version: the app reads the current one (rotation needs no redeploy).
            references[key] = secret.properties.apply(
                lambda p: f"@Microsoft.KeyVault(SecretUri={p.secret_uri})"
            )
        return references

    def _plan(
        self, name: str, config: StackConfig, sku: str, tier: str, child: pulumi.ResourceOptions
    ) -> azure.web.AppServicePlan:
        return azure.web.AppServicePlan(
            f"{name}-plan",
            resource_group_name=self.group.name,
            location=config.region,
            kind="functionapp",
            reserved=True,
            sku=azure.web.SkuDescriptionArgs(name=sku, tier=tier),
            tags=config.tags,
            opts=child,
        )

    def _app(
        self,
        name: str,
        config: StackConfig,
        plan: azure.web.AppServicePlan,
        settings: dict[str, pulumi.Input[str]],
        child: pulumi.ResourceOptions,
        linux_fx_version: str | None = None,
        function_app_config: azure.web.FunctionAppConfigArgs | None = None,
    ) -> azure.web.WebApp:
        """A Linux function app with its own identity, HTTPS only, TLS 1.2."""
        return azure.web.WebApp(
            f"{name}-app",
            resource_group_name=self.group.name,
            location=config.region,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            https_only=True,
            identity=azure.web.ManagedServiceIdentityArgs(
                type=azure.web.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            site_config=azure.web.SiteConfigArgs(
                linux_fx_version=linux_fx_version,
                min_tls_version="1.2",
                ftps_state="Disabled",
                app_settings=[
                    azure.web.NameValuePairArgs(name=k, value=v)
                    for k, v in sorted(settings.items())
                ],
            ),
            function_app_config=function_app_config,
            tags=config.tags,
            opts=child,
        )

    def _container(self, name: str, opts: pulumi.ResourceOptions) -> azure.storage.BlobContainer:
        return azure.storage.BlobContainer(
            name,
            account_name=self.account.name,
            resource_group_name=self.group.name,
            public_access=azure.storage.PublicAccess.NONE,
            opts=opts,
        )

    def _flex_app(
        self,
        name: str,
        config: StackConfig,
        env: dict[str, pulumi.Input[str]],
        blob_endpoint: pulumi.Output[str],
        archive: Archive,
        child: pulumi.ResourceOptions,
    ) -> azure.web.WebApp:
        deployments = self._container(f"{name}-deployments", child)
        plan = self._plan(name, config, "FC1", "FlexConsumption", child)
        settings = {**env, "AzureWebJobsStorage__accountName": self.account.name}
        app = self._app(
            name,
            config,
            plan,
            settings,
            child,
            function_app_config=azure.web.FunctionAppConfigArgs(
                deployment=azure.web.FunctionsDeploymentArgs(
                    storage=azure.web.FunctionsDeploymentStorageArgs(
                        type="blobContainer",
                        value=pulumi.Output.concat(blob_endpoint, deployments.name),
                        authentication=azure.web.FunctionsDeploymentStorageAuthenticationArgs(
                            type="SystemAssignedIdentity"
                        ),
                    )
                ),
                runtime=azure.web.FunctionsRuntimeArgs(name="python", version=config.python),
                scale_and_concurrency=azure.web.FunctionsScaleAndConcurrencyArgs(
                    instance_memory_mb=max(2048, config.memory_mb),
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
            ),
        )
        role = self._grant(f"{name}-blob-owner", app, BLOB_DATA_OWNER, self.account.id, child)
        host = pulumi.Output.all(app.host_name_ssl_states, app.enabled_host_names).apply(
            lambda states: scm_host(states[0], states[1])
        )
        # Publishing writes to the deployment container as the app's identity: after the role
        # assignment (azure_arm.publish retries while it propagates).
        FlexDeployment(
            f"{name}-code",
            {
                "scm_host": host,
                "archive_path": str(archive.path),
                "archive_sha256": archive.sha256,
                **self._auth,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, deployments]),
        )
        return app

    def _grant(
        self,
        name: str,
        app: azure.web.WebApp,
        role: str,
        scope: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> azure.authorization.RoleAssignment:
        """A built-in role for the app's own identity, on one resource only."""
        role_id = self._subscription.apply(
            lambda sub: (
                f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
            )
        )
        principal = app.identity.apply(lambda i: i.principal_id if i else None)
        return azure.authorization.RoleAssignment(
            name,
            principal_id=principal,
            principal_type="ServicePrincipal",
            role_definition_id=role_id,
            scope=scope,
            opts=child,
        )

    def _consumption_app(
        self,
        name: str,
        config: StackConfig,
        env: dict[str, pulumi.Input[str]],
        archive: Archive,
        child: pulumi.ResourceOptions,
    ) -> azure.web.WebApp:
        """Linux Consumption: run-from-package from a blob behind a read-only SAS URL."""
        packages = self._container(f"{name}-packages", child)
        blob = azure.storage.Blob(
            f"{name}-package",
            blob_name=archive.object_name,
            account_name=self.account.name,
            resource_group_name=self.group.name,
            container_name=packages.name,
            type=azure.storage.BlobType.BLOCK,
            source=pulumi.FileAsset(str(archive.path)),
            opts=child,
        )
        keys = azure.storage.list_storage_account_keys_output(
            account_name=self.account.name, resource_group_name=self.group.name
        )
        key = pulumi.Output.secret(keys.keys[0].value)
        connection = pulumi.Output.format(
            "DefaultEndpointsProtocol=https;AccountName={0};AccountKey={1};"
            "EndpointSuffix=core.windows.net",
            self.account.name,
            key,
        )
        sas = azure.storage.list_storage_account_service_sas_output(
            account_name=self.account.name,
            resource_group_name=self.group.name,
            protocols=azure.storage.HttpProtocol.HTTPS,
            permissions="r",
            resource=azure.storage.SignedResource.C,
            canonicalized_resource=pulumi.Output.format(
                "/blob/{0}/{1}", self.account.name, packages.name
            ),
            shared_access_expiry_time=sas_expiry(datetime.now(UTC)),
        )
        package_url = pulumi.Output.format(
            "{0}{1}/{2}?{3}",
            self.account.primary_endpoints.blob,
            packages.name,
            blob.name,
            sas.service_sas_token,
        )
        plan = self._plan(name, config, "Y1", "Dynamic", child)
        settings: dict[str, pulumi.Input[str]] = {
            **env,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "FUNCTIONS_EXTENSION_VERSION": "~4",
            # The host reads its own storage connection before any reference resolves; the
            # app's copy goes through the vault like every other secret.
            "AzureWebJobsStorage": connection,
            **self._vault_references(
                name, {"LAMBDA_AZURE_CONNECTION_STRING": pulumi.Output.secret(connection)}, child
            ),
            "WEBSITE_RUN_FROM_PACKAGE": package_url,
        }
        app = self._app(
            name,
            config,
            plan,
            settings,
            child,
            linux_fx_version=f"Python|{config.python}",
        )
        TriggerSync(
            f"{name}-sync-triggers",
            {"app_id": app.id, "package": archive.object_name, **self._auth},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[app, blob]),
        )
        return app
