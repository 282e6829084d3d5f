"""Azure: the component. A resource group, a locked-down storage account with the events
container, a Key Vault for the secrets, and the function app on the Flex Consumption plan
(default) or Linux Consumption (`azurePlan`). See docs/deploying.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from stacks.args import FunctionArgs
from stacks.azure.flex_deploy import FlexDeployment, ProviderRegistration, TriggerSync
from stacks.azure.identity import VaultReader, role_definition, vault_reader
from stacks.azure.packages import connection_string, flex_config, package_url, scm_host
from stacks.azure.timers import timer_settings
from stacks.outputs import StackOutputs
from stacks.query_tables import synapse_example

# Storage Blob Data Owner: the Functions host needs it on its own storage (deployment package,
# leases); the app's data access rides on the same assignment, scoped to this account only.
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"

# Resource providers a fresh subscription may not have registered. Flex Consumption apps are
# Microsoft.Web sites whose instances the platform runs through Microsoft.App.
# Microsoft.OperationalInsights and Microsoft.Insights: the app's logs (`_insights`).
LOGS_PROVIDERS = ["Microsoft.OperationalInsights", "Microsoft.Insights"]
PROVIDERS = {
    "flex": ["Microsoft.Web", "Microsoft.Storage", "Microsoft.App", *LOGS_PROVIDERS],
    "consumption": ["Microsoft.Web", "Microsoft.Storage", *LOGS_PROVIDERS],
}

Settings = dict[str, pulumi.Input[str]]


@dataclass(frozen=True, kw_only=True)
class AzureOutputs(StackOutputs):
    """The common outputs, the storage account Synapse reads the compacted events from, and
    the Log Analytics workspace (its id) `make logs` queries."""

    storage_account: pulumi.Output[str]
    log_workspace: pulumi.Output[str]


class AzureFunction(pulumi.ComponentResource):
    """The app on Azure, every resource parented to this component (`lambda:azure:Function`)."""

    outputs: AzureOutputs

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:azure:Function", name, None, opts)
        self._name, self._args, self._config = name, args, args.config
        self._child = pulumi.ResourceOptions(parent=self)
        self._auth = {
            "auth": self._config.azure_auth.settings,
            "client_secret": self._config.azure_auth.client_secret,
        }
        client = azure.authorization.get_client_config_output()
        self._subscription = client.subscription_id
        registration = self._register_providers()
        # Stored events outlive the stack: the group, the account and the events container are
        # protected, so `pulumi destroy` stops before deleting them (docs/deploying.md).
        self.group = self._resource_group(registration)
        self.account = self._storage_account()
        self.container = self._container(f"{name}-events", self._kept())
        self.vault = self._vault(client.tenant_id)
        self.workspace, self.insights = self._insights()
        # Granted before the app exists, so the host never caches an unresolved reference.
        self._reader: VaultReader = vault_reader(
            name,
            self.group,
            self._config.region,
            self._config.tags,
            self.vault,
            self._subscription,
            self._child,
        )
        env = self._environment()
        flex = self._config.azure_plan == "flex"
        self.app = self._flex_app(env) if flex else self._consumption_app(env)
        self.outputs = self._outputs()
        self.register_outputs(self.outputs.as_dict())

    def _kept(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=True, depends_on=depends_on)

    def _register_providers(self) -> ProviderRegistration:
        return ProviderRegistration(
            f"{self._name}-providers",
            {
                "subscription": self._subscription,
                "namespaces": PROVIDERS[self._config.azure_plan],
                **self._auth,
            },
            opts=self._child,
        )

    def _resource_group(self, registration: ProviderRegistration) -> azure.resources.ResourceGroup:
        return azure.resources.ResourceGroup(
            f"{self._name}-rg",
            location=self._config.region,
            tags=self._config.tags,
            opts=self._kept(depends_on=[registration]),
        )

    def _storage_account(self) -> azure.storage.StorageAccount:
        config = self._config
        return azure.storage.StorageAccount(
            f"{self._name}sa".replace("-", "")[:20],
            resource_group_name=self.group.name,
            location=config.region,
            kind="StorageV2",
            sku=azure.storage.SkuArgs(name="Standard_LRS"),
            allow_blob_public_access=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            # Flex runs on managed identity only; Linux Consumption still needs account keys.
            allow_shared_key_access=config.azure_plan != "flex",
            tags=config.tags,
            opts=self._kept(),
        )

    def _container(self, name: str, opts: pulumi.ResourceOptions) -> azure.storage.BlobContainer:
        return azure.storage.BlobContainer(
            name,
            account_name=self.account.name,
            resource_group_name=self.group.name,
            public_access=azure.storage.PublicAccess.NONE,
            opts=opts,
        )

    def _vault(self, tenant_id: pulumi.Output[str]) -> azure.keyvault.Vault:
        """The app's secrets live in a Key Vault with RBAC authorization; app settings hold
        Key Vault references the platform resolves with the app's identity."""
        return azure.keyvault.Vault(
            f"{self._name}-kv",
            resource_group_name=self.group.name,
            location=self._config.region,
            properties=azure.keyvault.VaultPropertiesArgs(
                tenant_id=tenant_id,
                sku=azure.keyvault.SkuArgs(
                    family=azure.keyvault.SkuFamily.A, name=azure.keyvault.SkuName.STANDARD
                ),
                enable_rbac_authorization=True,
            ),
            tags=self._config.tags,
            opts=self._child,
        )

    def _environment(self) -> Settings:
        env = self._args.environment(self.container.name)
        env["LAMBDA_AZURE_ACCOUNT_URL"] = self._blob_endpoint()
        env.update(timer_settings(self._config))
        env.update(self._vault_references(self._args.secrets()))
        env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = self.insights.connection_string
        return env

    def _insights(
        self,
    ) -> tuple[azure.operationalinsights.Workspace, azure.applicationinsights.Component]:
        """Where the app's log lines go: Application Insights over a Log Analytics workspace,
        which `make logs` queries (scripts/logs.py). PerGB2018 keeps 30 days at least."""
        config = self._config
        workspace = azure.operationalinsights.Workspace(
            f"{self._name}-logs",
            resource_group_name=self.group.name,
            location=config.region,
            sku=azure.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=max(30, config.log_retention_days),
            tags=config.tags,
            opts=self._child,
        )
        insights = azure.applicationinsights.Component(
            f"{self._name}-insights",
            resource_group_name=self.group.name,
            location=config.region,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=workspace.id,
            tags=config.tags,
            opts=self._child,
        )
        return workspace, insights

    def _blob_endpoint(self) -> pulumi.Output[str]:
        endpoint: pulumi.Output[str] = self.account.primary_endpoints.apply(lambda e: e.blob)
        return endpoint

    def _vault_references(self, secrets: dict[str, pulumi.Output[str]]) -> Settings:
        references: Settings = {}
        for key, value in sorted(secrets.items()):
            slug = key.lower().replace("_", "-")
            secret = azure.keyvault.Secret(
                f"{self._name}-{slug}",
                secret_name=slug,
                vault_name=self.vault.name,
                resource_group_name=self.group.name,
                properties=azure.keyvault.SecretPropertiesArgs(value=value),
                opts=self._child,
            )
            # Without a version: the app reads the current one (rotation needs no redeploy).
            references[key] = secret.properties.apply(
                lambda p: f"@Microsoft.KeyVault(SecretUri={p.secret_uri})"
            )
        return references

    def _plan(self, sku: str, tier: str) -> azure.web.AppServicePlan:
        return azure.web.AppServicePlan(
            f"{self._name}-plan",
            resource_group_name=self.group.name,
            location=self._config.region,
            kind="functionapp",
            reserved=True,
            sku=azure.web.SkuDescriptionArgs(name=sku, tier=tier),
            tags=self._config.tags,
            opts=self._child,
        )

    def _app(
        self,
        plan: azure.web.AppServicePlan,
        settings: Settings,
        linux_fx_version: str | None = None,
        function_app_config: azure.web.FunctionAppConfigArgs | None = None,
    ) -> azure.web.WebApp:
        """A Linux function app with its own identity (storage) and the vault reader's (Key Vault
        references), HTTPS only, TLS 1.2; created only once the reader holds its role."""
        reader = self._reader.identity
        return azure.web.WebApp(
            f"{self._name}-app",
            resource_group_name=self.group.name,
            location=self._config.region,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            https_only=True,
            identity=azure.web.ManagedServiceIdentityArgs(
                type=azure.web.ManagedServiceIdentityType.SYSTEM_ASSIGNED_USER_ASSIGNED,
                user_assigned_identities=[reader.id],
            ),
            key_vault_reference_identity=reader.id,
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
            tags=self._config.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._reader.grant]),
        )

    def _flex_app(self, env: Settings) -> azure.web.WebApp:
        name, archive = self._name, self._args.archive
        deployments = self._container(f"{name}-deployments", self._child)
        plan = self._plan("FC1", "FlexConsumption")
        location = pulumi.Output.concat(self._blob_endpoint(), deployments.name)
        settings = {**env, "AzureWebJobsStorage__accountName": self.account.name}
        app = self._app(plan, settings, function_app_config=flex_config(self._config, location))
        role = self._grant(f"{name}-blob-owner", app, BLOB_DATA_OWNER, self.account.id)
        host = pulumi.Output.all(app.host_name_ssl_states, app.enabled_host_names).apply(
            lambda states: scm_host(states[0], states[1])
        )
        # Publishing writes to the deployment container as the app's identity: after the role
        # assignment (stacks/azure/arm.py's publish retries while it propagates).
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

    def _consumption_app(self, env: Settings) -> azure.web.WebApp:
        """Linux Consumption: run-from-package from a blob behind a read-only SAS URL."""
        name, archive = self._name, self._args.archive
        packages = self._container(f"{name}-packages", self._child)
        blob = azure.storage.Blob(
            f"{name}-package",
            blob_name=archive.object_name,
            account_name=self.account.name,
            resource_group_name=self.group.name,
            container_name=packages.name,
            type=azure.storage.BlobType.BLOCK,
            source=pulumi.FileAsset(str(archive.path)),
            opts=self._child,
        )
        connection = connection_string(self.account, self.group)
        url = package_url(self.account, self.group, packages, blob)
        plan = self._plan("Y1", "Dynamic")
        settings: Settings = {
            **env,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "FUNCTIONS_EXTENSION_VERSION": "~4",
            # The host reads its own storage connection before any reference resolves; the
            # app's copy goes through the vault like every other secret.
            "AzureWebJobsStorage": connection,
            **self._vault_references(
                {"LAMBDA_AZURE_CONNECTION_STRING": pulumi.Output.secret(connection)}
            ),
            "WEBSITE_RUN_FROM_PACKAGE": url,
        }
        app = self._app(plan, settings, linux_fx_version=f"Python|{self._config.python}")
        TriggerSync(
            f"{name}-sync-triggers",
            {"app_id": app.id, "package": archive.object_name, **self._auth},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[app, blob]),
        )
        return app

    def _grant(
        self, name: str, app: azure.web.WebApp, role: str, scope: pulumi.Input[str]
    ) -> azure.authorization.RoleAssignment:
        """A built-in role for the app's own identity, on one resource only."""
        role_id = role_definition(self._subscription, role)
        principal = app.identity.apply(lambda i: i.principal_id if i else None)
        return azure.authorization.RoleAssignment(
            name,
            principal_id=principal,
            principal_type="ServicePrincipal",
            role_definition_id=role_id,
            scope=scope,
            opts=self._child,
        )

    def _outputs(self) -> AzureOutputs:
        return AzureOutputs(
            base_url=self.app.default_host_name.apply(lambda host: f"https://{host}"),
            bucket=self.container.name,
            storage_account=self.account.name,
            log_workspace=self.workspace.customer_id,
            functions={"app": self.app.name},
            logs_url=self.app.id.apply(
                lambda app_id: f"https://portal.azure.com/#resource{app_id}/logStream"
            ),
            # Synapse serverless SQL reads the files in place; it needs a workspace, which
            # this stack does not create (docs/query.md: why, and the query to run).
            query_example=pulumi.Output.all(self.account.name, self.container.name).apply(
                lambda names: synapse_example(names[0], names[1])
            ),
        )
