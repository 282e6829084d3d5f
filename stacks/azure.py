"""Azure: resource group, a locked-down storage account with the events container, and the
function app on the Flex Consumption plan (default) or Linux Consumption (`azurePlan`)."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from stacks.app_env import function_environment
from stacks.args import FunctionArgs
from stacks.config import StackConfig
from stacks.flex_deploy import FlexDeployment
from stacks.packaging import Archive

# Storage Blob Data Owner: the Functions host needs it on its own storage (deployment package,
# leases); the app's data access rides on the same assignment, scoped to this account only.
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"


class AzureFunction(pulumi.ComponentResource):
    base_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:azure:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        flex = config.azure_plan == "flex"
        self.group = azure.resources.ResourceGroup(f"{name}-rg", location=config.region, opts=child)
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
            opts=child,
        )
        self.container = self._container(f"{name}-events", child)
        blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        env = function_environment(config, self.container.name, args.peer_urls)
        env["LAMBDA_AZURE_ACCOUNT_URL"] = blob_endpoint
        if flex:
            self.app = self._flex_app(name, config, env, blob_endpoint, args.archive, child)
        else:
            self.app = self._consumption_app(name, config, env, args.archive, child)
        self.base_url = self.app.default_host_name.apply(lambda host: f"https://{host}")
        self.register_outputs({"base_url": self.base_url, "container": self.container.name})

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
            opts=child,
        )

    def _container(self, name: str, child: pulumi.ResourceOptions) -> azure.storage.BlobContainer:
        return azure.storage.BlobContainer(
            name,
            account_name=self.account.name,
            resource_group_name=self.group.name,
            public_access=azure.storage.PublicAccess.NONE,
            opts=child,
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
                    instance_memory_mb=max(2048, config.memory_mb), maximum_instance_count=100
                ),
            ),
        )
        role = self._grant_blob_access(name, app, child)
        scm_host = app.enabled_host_names.apply(
            lambda hosts: next(h for h in hosts or [] if ".scm." in h)
        )
        FlexDeployment(
            f"{name}-code",
            scm_host,
            str(archive.path),
            archive.sha256,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, deployments]),
        )
        return app

    def _grant_blob_access(
        self, name: str, app: azure.web.WebApp, child: pulumi.ResourceOptions
    ) -> azure.authorization.RoleAssignment:
        client = azure.authorization.get_client_config_output()
        role_id = client.subscription_id.apply(
            lambda sub: (
                f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{BLOB_DATA_OWNER}"
            )
        )
        principal = app.identity.apply(lambda i: i.principal_id if i else None)
        return azure.authorization.RoleAssignment(
            f"{name}-blob-owner",
            principal_id=principal,
            principal_type="ServicePrincipal",
            role_definition_id=role_id,
            scope=self.account.id,
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
            shared_access_expiry_time="2035-01-01",
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
            "AzureWebJobsStorage": connection,
            "LAMBDA_AZURE_CONNECTION_STRING": connection,
            "WEBSITE_RUN_FROM_PACKAGE": package_url,
        }
        return self._app(
            name,
            config,
            plan,
            settings,
            child,
            linux_fx_version=f"Python|{config.python}",
        )
