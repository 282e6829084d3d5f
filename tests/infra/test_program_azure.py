"""The Azure stack under mocks: Flex first deploy, the Consumption fallback, production rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pulumi
import pytest

from stacks.azure.packages import sas_expiry, scm_host
from tests.infra.conftest import AWS_URL, GCP_URL, SECRET_NAMES, Run, env_of, peers, secret_values
from tests.support.pulumi_mocks import SUBSCRIPTION, run_program

APP = "azure-native:web:WebApp"
DYNAMIC = "pulumi-python:dynamic:Resource"
TAGS = {"project": "lambda", "stack": "azure", "cloud": "azure"}


def test_azure_storage_has_no_public_blob_access_and_tls_1_2(azure_run: Run) -> None:
    mocks, _ = azure_run
    account = mocks.one("azure-native:storage:StorageAccount")
    assert account.inputs["allowBlobPublicAccess"] is False, account.urn
    assert account.inputs["minimumTlsVersion"] == "TLS1_2"
    assert account.inputs["allowSharedKeyAccess"] is False
    for container in mocks.of_type("azure-native:storage:BlobContainer"):
        assert container.inputs["publicAccess"] == "None", container.urn


def test_azure_stored_events_are_protected_with_everything_that_holds_them(azure_run: Run) -> None:
    mocks, _ = azure_run
    assert mocks.one("azure-native:resources:ResourceGroup").protect
    assert mocks.one("azure-native:storage:StorageAccount").protect
    containers = {c.name: c.protect for c in mocks.of_type("azure-native:storage:BlobContainer")}
    assert containers == {"lambda-events": True, "lambda-deployments": False}


def test_azure_registers_its_resource_providers_before_creating_anything(azure_run: Run) -> None:
    mocks, _ = azure_run
    registration = mocks.named(DYNAMIC, "lambda-providers")
    assert registration.inputs["subscription"] == SUBSCRIPTION
    assert registration.inputs["namespaces"] == [
        "Microsoft.Web",
        "Microsoft.Storage",
        "Microsoft.App",
        "Microsoft.OperationalInsights",
        "Microsoft.Insights",
    ]
    group = mocks.one("azure-native:resources:ResourceGroup")
    assert f"{DYNAMIC}::lambda-providers" in group.depends_on, group.urn


def test_azure_runs_on_flex_with_identity_and_a_scoped_role(azure_run: Run) -> None:
    mocks, result = azure_run
    plan = mocks.one("azure-native:web:AppServicePlan")
    assert plan.inputs["sku"] == {"name": "FC1", "tier": "FlexConsumption"}, plan.urn
    app = mocks.one(APP)
    assert app.inputs["identity"]["type"] == "SystemAssigned, UserAssigned"
    assert app.inputs["httpsOnly"] is True
    config = app.inputs["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.12"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "SystemAssignedIdentity"
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    assert "WEBSITE_RUN_FROM_PACKAGE" not in settings  # Flex refuses it
    assert settings["LAMBDA_PEER_URLS"] == f"{AWS_URL},{GCP_URL}"
    account = mocks.one("azure-native:storage:StorageAccount")
    assert settings["LAMBDA_AZURE_ACCOUNT_URL"] == account.outputs["primaryEndpoints"]["blob"]
    assert (
        settings["LAMBDA_BUCKET"]
        == mocks.named("azure-native:storage:BlobContainer", "lambda-events").outputs["name"]
    )
    role = mocks.named("azure-native:authorization:RoleAssignment", "lambda-blob-owner")
    assert role.inputs["scope"] == account.outputs["id"], role.urn
    assert role.inputs["principalId"] == app.outputs["identity"]["principalId"]
    assert role.inputs["roleDefinitionId"].endswith("b7e6dc6d-f1e8-4753-8033-0f276bb0955b")
    assert result["base_url"] == f"https://{app.outputs['defaultHostName']}"


def test_azure_code_is_published_after_the_role_to_the_scm_host(azure_run: Run) -> None:
    mocks, _ = azure_run
    deploy = mocks.named(DYNAMIC, "lambda-code")
    app = mocks.one(APP)
    scm = next(s["name"] for s in app.outputs["hostNameSslStates"] if s["hostType"] == "Repository")
    assert deploy.inputs["scm_host"] == scm, deploy.urn
    assert len(deploy.inputs["archive_sha256"]) == 64
    assert deploy.inputs["archive_path"].endswith(".zip")
    assert "azure-native:authorization:RoleAssignment::lambda-blob-owner" in deploy.depends_on


def test_azure_publish_authenticates_with_the_providers_own_config() -> None:
    mocks, _ = run_program(
        "azure",
        {"azure-native:clientId": "app-id", "azure-native:tenantId": "tenant-id"},
        secrets={"azure-native:clientSecret": "client-secret"},
    )
    deploy = mocks.named(DYNAMIC, "lambda-code")
    assert deploy.inputs["auth"] == {"clientId": "app-id", "tenantId": "tenant-id"}
    assert deploy.inputs["client_secret"] == "client-secret"
    assert "client_secret" in deploy.secret_inputs, "the client secret reached state in clear"


def test_scm_host_is_found_in_the_host_states_then_the_host_names_or_fails_clearly() -> None:
    class State:
        def __init__(self, name: str, host_type: str) -> None:
            self.name, self.host_type = name, host_type

    states = [State("a.azurewebsites.net", "Standard"), State("a.scm.x.net", "Repository")]
    assert scm_host(states, []) == "a.scm.x.net"
    assert scm_host([], ["a.azurewebsites.net", "a.scm.azurewebsites.net"]) == (
        "a.scm.azurewebsites.net"
    )
    with pytest.raises(pulumi.RunError, match=r"no deployment \(scm\) host"):
        scm_host([], ["a.azurewebsites.net"])


def test_azure_every_taggable_resource_carries_project_stack_and_cloud(azure_run: Run) -> None:
    mocks, _ = azure_run
    for typ in (
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
        "azure-native:web:AppServicePlan",
        APP,
    ):
        for resource in mocks.of_type(typ):
            assert resource.inputs["tags"] == TAGS, resource.urn


def test_azure_outputs_name_the_container_app_and_log_stream(azure_run: Run) -> None:
    mocks, result = azure_run
    app = mocks.one(APP)
    assert result["functions"] == {"app": app.outputs["name"]}
    assert (
        result["bucket"]
        == mocks.named("azure-native:storage:BlobContainer", "lambda-events").outputs["name"]
    )
    assert result["logs_url"] == f"https://portal.azure.com/#resource{app.outputs['id']}/logStream"


def test_azure_consumption_runs_from_a_sas_package_url_and_syncs_its_triggers() -> None:
    mocks, _ = run_program("azure", {"lambda:azurePlan": "consumption"}, peers(aws=None, gcp=None))
    plan = mocks.one("azure-native:web:AppServicePlan")
    assert plan.inputs["sku"]["name"] == "Y1"
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    assert settings["WEBSITE_RUN_FROM_PACKAGE"].startswith("https://")
    assert [d.name for d in mocks.of_type(DYNAMIC)] == ["lambda-providers", "lambda-sync-triggers"]
    sync = mocks.named(DYNAMIC, "lambda-sync-triggers")
    assert sync.inputs["app_id"] == mocks.one(APP).outputs["id"]
    assert sync.inputs["package"].startswith("lambda-azure-")
    assert f"{APP}::lambda-app" in sync.depends_on
    assert "azure-native:storage:Blob::lambda-package" in sync.depends_on


def test_package_sas_expiry_is_over_a_year_away_and_stable_within_a_year() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert sas_expiry(early) == sas_expiry(late) == "2028-01-01T00:00:00Z"
    assert sas_expiry(datetime(2027, 3, 1, tzinfo=UTC)) == "2029-01-01T00:00:00Z"


def test_azure_warm_instances_are_always_ready_http_instances_on_flex() -> None:
    mocks, _ = run_program("azure", {"lambda:minInstances": "1"})
    scale = mocks.one(APP).inputs["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["alwaysReady"] == [{"name": "http", "instanceCount": 1}]
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    assert settings["LAMBDA_MEMORY_MB"] == "2048"  # Flex instances have at least 2 GB


def test_warm_instances_on_linux_consumption_stop_with_what_to_run() -> None:
    with pytest.raises(Exception, match="pulumi config set lambda:azurePlan flex"):
        run_program("azure", {"lambda:minInstances": "1", "lambda:azurePlan": "consumption"})


def test_azure_secrets_are_key_vault_references_the_apps_identity_alone_may_read(
    azure_run: Run,
) -> None:
    mocks, _ = azure_run
    vault = mocks.one("azure-native:keyvault:Vault")
    assert vault.inputs["properties"]["enableRbacAuthorization"] is True, vault.urn
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    uris = {
        s.inputs["secretName"]: s.outputs["properties"]["secretUri"]
        for s in mocks.of_type("azure-native:keyvault:Secret")
    }
    for name in SECRET_NAMES:
        slug = name.lower().replace("_", "-")
        assert settings[name] == f"@Microsoft.KeyVault(SecretUri={uris[slug]})", name
    reader = mocks.named("azure-native:authorization:RoleAssignment", "lambda-vault-reader")
    assert reader.inputs["scope"] == vault.outputs["id"]
    assert reader.inputs["roleDefinitionId"].endswith("4633458b-17de-408a-b874-0445c86b69e6")
    identity = mocks.one(UAI)
    assert reader.inputs["principalId"] == identity.outputs["principalId"], reader.urn
    assert set(secret_values(mocks, "azure")) == set(SECRET_NAMES)


def test_azure_logs_go_to_application_insights_over_the_workspace_make_logs_queries(
    azure_run: Run,
) -> None:
    mocks, result = azure_run
    workspace = mocks.one("azure-native:operationalinsights:Workspace")
    insights = mocks.one("azure-native:applicationinsights:Component")
    assert workspace.inputs["sku"] == {"name": "PerGB2018"}, workspace.urn
    assert workspace.inputs["retentionInDays"] == 30, workspace.urn  # the SKU's minimum
    assert insights.inputs["workspaceResourceId"] == workspace.outputs["id"], insights.urn
    assert insights.inputs["ingestionMode"] == "LogAnalytics", insights.urn
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    connection = insights.outputs["connectionString"]
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == connection
    assert result["log_workspace"] == workspace.outputs["customerId"]
    for resource in (workspace, insights):
        assert resource.inputs["tags"] == TAGS, resource.urn


UAI = "azure-native:managedidentity:UserAssignedIdentity"
GRANT = "azure-native:authorization:RoleAssignment"


@pytest.mark.parametrize("plan", ["flex", "consumption"])
def test_azure_app_first_starts_after_its_vault_reader_holds_the_role(plan: str) -> None:
    # App Service resolves Key Vault references when the app starts and caches a failure for
    # about a day, passing the literal `@Microsoft.KeyVault(...)` to the app (Microsoft Learn,
    # "Use Key Vault references as app settings"). So the identity that resolves them is a
    # user-assigned one, granted on the vault before the app is created.
    mocks, _ = run_program("azure", {"lambda:azurePlan": plan})
    app, identity = mocks.one(APP), mocks.one(UAI)
    reader = mocks.named(GRANT, "lambda-vault-reader")
    assert reader.inputs["principalId"] == identity.outputs["principalId"], reader.urn
    assert f"{GRANT}::lambda-vault-reader" in app.depends_on, app.urn
    assert app.inputs["keyVaultReferenceIdentity"] == identity.outputs["id"], app.urn
    assert app.inputs["identity"] == {
        "type": "SystemAssigned, UserAssigned",
        "userAssignedIdentities": [identity.outputs["id"]],
    }, app.urn
    # The storage grants stay with the app's own identity (AzureWebJobsStorage__accountName).
    for grant in mocks.of_type(GRANT):
        if grant.name != "lambda-vault-reader":
            assert grant.inputs["principalId"] == app.outputs["identity"]["principalId"]


def test_azure_retry_timer_follows_the_retry_schedule_setting() -> None:
    # A timer's schedule may name an app setting, `%NAME%`, which the host resolves (Microsoft
    # Learn, "Timer trigger for Azure Functions"): the app names it, the stack sets it.
    from tools.platforms import azure_functions

    schedules = {
        name: binding.schedule
        for name, fn in azure_functions().items()
        for binding in fn.get_bindings()
        if binding.type == "timerTrigger"
    }
    assert schedules == {
        "retry_outbox": "%LAMBDA_RETRY_SCHEDULE%",
        "compact": "0 10 * * * *",
        "reconcile": "%LAMBDA_RECONCILE_SCHEDULE%",
    }
    mocks, _ = run_program("azure", {"lambda:retryScheduleMinutes": "5"})
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    assert settings["LAMBDA_RETRY_SCHEDULE"] == "0 */5 * * * *"


@pytest.mark.parametrize(
    ("plan", "seconds", "timeout"), [("flex", 1800, "00:30:00"), ("consumption", 540, "00:09:00")]
)
def test_azure_function_timeout_covers_the_job_timeout(
    plan: str, seconds: int, timeout: str
) -> None:
    # host.json's functionTimeout, overridden by the app setting
    # AzureFunctionsJobHost__functionTimeout (Microsoft Learn, "host.json reference").
    mocks, _ = run_program(
        "azure", {"lambda:azurePlan": plan, "lambda:jobTimeoutSeconds": str(seconds)}
    )
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    assert settings["AzureFunctionsJobHost__functionTimeout"] == timeout
    assert settings["LAMBDA_JOB_TIMEOUT"] == str(seconds)


def test_a_job_timeout_beyond_linux_consumptions_cap_stops_with_one_line() -> None:
    with pytest.raises(Exception, match=r"lambda:jobTimeoutSeconds must be at most 600") as raised:
        run_program("azure", {"lambda:azurePlan": "consumption", "lambda:jobTimeoutSeconds": "900"})
    assert "\n" not in str(raised.value)


def test_the_packaged_host_json_allows_the_default_job_timeout() -> None:
    import json

    from tests.support.pulumi_mocks import ROOT

    host = json.loads((ROOT / "functions/azure/host.json").read_text())
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    assert hours * 3600 + minutes * 60 + seconds >= 540


@pytest.mark.parametrize(("memory", "deployed"), [("512", 2048), ("2048", 2048), ("3008", 4096)])
def test_flex_takes_the_next_instance_size_that_holds_the_memory_setting(
    memory: str, deployed: int
) -> None:
    # Flex Consumption offers 2048 and 4096 MB instances (flex-consumption-plan.md, instance
    # memory); a size between them (3008, one AWS suggests) must not reach Azure as it is.
    mocks, _ = run_program("azure", {"lambda:memoryMb": memory})
    scale = mocks.one(APP).inputs["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["instanceMemoryMB"] == deployed
    settings = env_of(mocks, APP, "lambda-app", ("siteConfig", "appSettings"))
    assert settings["LAMBDA_MEMORY_MB"] == str(deployed)  # DuckDB's limit follows the instance


def test_a_memory_setting_above_the_largest_flex_instance_stops_with_the_sizes() -> None:
    with pytest.raises(Exception, match="lambda:memoryMb must be at most 4096 on Flex"):
        run_program("azure", {"lambda:memoryMb": "8192"})
