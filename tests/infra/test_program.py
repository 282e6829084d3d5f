"""The whole Pulumi program under mocks, one run per stack: what matters in production."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.pulumi_mocks import RecordingMocks, run_program

AWS_URL = "https://x7kq2m4lzp3vbn6hd5tc2rg7yu0ijwfe.lambda-url.eu-west-1.on.aws"
GCP_URL = "https://lambda-gcp-abc123-ew.a.run.app"
AZURE_URL = "https://lambda-azure.azurewebsites.net"
ORG = "organization"


def peers(**urls: str | None) -> dict[str, str | None]:
    return {f"{ORG}/lambda/{cloud}": url for cloud, url in urls.items()}


FN = "aws:lambda/function:Function"


def env_of(mocks: RecordingMocks, typ: str, path: tuple[str, ...]) -> dict[str, Any]:
    found = mocks.named(typ, "lambda-fn") if typ == FN else mocks.one(typ)
    value: Any = found.inputs
    for part in path:
        value = value[part]
    return dict(value)


AWS_CONFIG = {"region": "eu-west-1", "memoryMb": 768, "timeoutSeconds": 20}


@pytest.fixture(scope="module")
def aws_run() -> tuple[RecordingMocks, dict[str, Any]]:
    return run_program(
        "aws",
        AWS_CONFIG,
        peers(gcp=GCP_URL, azure=AZURE_URL + "/"),
        secrets={"peerSecret": "s3cr3t"},
    )


def test_aws_bucket_is_private_encrypted_and_owner_enforced(aws_run: Any) -> None:
    mocks, _ = aws_run
    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    ), block.urn
    owner = mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert owner.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced", owner.urn
    sse = mocks.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    rule = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] == "AES256", sse.urn
    bucket = mocks.one("aws:s3/bucket:Bucket")
    assert block.inputs["bucket"] == bucket.inputs["bucket"]


def test_aws_role_may_only_touch_its_own_bucket_objects_and_log_group(aws_run: Any) -> None:
    mocks, _ = aws_run
    policy = mocks.one("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    bucket_arn = mocks.one("aws:s3/bucket:Bucket").inputs["arn"]
    allowed = {(tuple(s["Action"]), s["Resource"]) for s in statements}
    log_arn = mocks.one("aws:cloudwatch/logGroup:LogGroup").inputs["arn"]
    assert allowed == {
        (("s3:PutObject", "s3:GetObject", "s3:DeleteObject"), f"{bucket_arn}/*"),
        (("s3:ListBucket",), bucket_arn),
        (("logs:CreateLogStream", "logs:PutLogEvents"), f"{log_arn}:*"),
    }, policy.urn
    assert not any(s["Resource"] == "*" or "s3:*" in s["Action"] for s in statements)
    assume = json.loads(mocks.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert assume["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_aws_function_runtime_memory_timeout_and_logs(aws_run: Any) -> None:
    mocks, _ = aws_run
    fn = mocks.named(FN, "lambda-fn")
    assert fn.inputs["runtime"] == "python3.12", fn.urn
    assert fn.inputs["architectures"] == ["arm64"], fn.urn
    assert fn.inputs["handler"] == "functions.aws.handler.handler"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (768, 20)
    assert fn.inputs["sourceCodeHash"]
    logs = mocks.one("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == 14
    assert fn.inputs["loggingConfig"]["logGroup"] == logs.inputs["name"]


def test_aws_function_url_is_public_with_both_permissions(aws_run: Any) -> None:
    mocks, result = aws_run
    url = mocks.one("aws:lambda/functionUrl:FunctionUrl")
    assert url.inputs["authorizationType"] == "NONE", url.urn
    perms = {
        p.inputs["action"]: p.inputs
        for p in mocks.of_type("aws:lambda/permission:Permission")
        if p.inputs["principal"] == "*"
    }
    assert set(perms) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert perms["lambda:InvokeFunctionUrl"]["functionUrlAuthType"] == "NONE"
    assert perms["lambda:InvokeFunction"]["invokedViaFunctionUrl"] is True
    assert all(p["principal"] == "*" for p in perms.values())
    assert result["base_url"] == AWS_URL


def test_aws_env_holds_exactly_the_peer_urls_and_the_secret(aws_run: Any) -> None:
    mocks, _ = aws_run
    env = env_of(mocks, FN, ("environment", "variables"))
    assert env["LAMBDA_PEER_URLS"] == f"{GCP_URL},{AZURE_URL}"
    assert env["LAMBDA_BUCKET"] == mocks.one("aws:s3/bucket:Bucket").inputs["bucket"]
    assert env["LAMBDA_ORIGIN"] == "aws"
    assert env["LAMBDA_PEER_SECRET"] == "s3cr3t"
    fn = mocks.named(FN, "lambda-fn")
    assert "environment" in fn.secret_inputs, f"{fn.urn}: the secret is stored in plain text"


@pytest.mark.parametrize(
    ("deployed", "expected"),
    [
        (peers(gcp=GCP_URL, azure=AZURE_URL), f"{GCP_URL},{AZURE_URL}"),
        (peers(gcp=None, azure=AZURE_URL), AZURE_URL),
        (peers(gcp=None, azure=None), ""),
    ],
)
def test_peer_urls_come_from_the_deployed_peer_stacks_only(
    deployed: dict[str, str | None], expected: str
) -> None:
    mocks, _ = run_program("aws", AWS_CONFIG, deployed)
    assert sorted(mocks.stack_references) == [f"{ORG}/lambda/azure", f"{ORG}/lambda/gcp"]
    env = env_of(mocks, FN, ("environment", "variables"))
    assert env["LAMBDA_PEER_URLS"] == expected


def test_peer_stacks_can_be_configured() -> None:
    custom = {"acme/lambda/gcp-prod": GCP_URL}
    mocks, _ = run_program("aws", {**AWS_CONFIG, "peerStacks": list(custom)}, custom)
    env = env_of(mocks, FN, ("environment", "variables"))
    assert env["LAMBDA_PEER_URLS"] == GCP_URL


GCP_CONFIG = {"region": "europe-west1", "gcpProject": "my-gcp-project"}


@pytest.fixture(scope="module")
def gcp_run() -> tuple[RecordingMocks, dict[str, Any]]:
    return run_program("gcp", GCP_CONFIG, peers(aws=AWS_URL, azure=None))


def test_gcp_buckets_are_private(gcp_run: Any) -> None:
    mocks, _ = gcp_run
    buckets = mocks.of_type("gcp:storage/bucket:Bucket")
    assert len(buckets) == 2
    for bucket in buckets:
        assert bucket.inputs["uniformBucketLevelAccess"] is True, bucket.urn
        assert bucket.inputs["publicAccessPrevention"] == "enforced", bucket.urn


def test_gcp_function_runs_as_its_own_account_with_access_to_the_events_bucket_only(
    gcp_run: Any,
) -> None:
    mocks, _ = gcp_run
    account = mocks.one("gcp:serviceaccount/account:Account")
    fn = mocks.one("gcp:cloudfunctionsv2/function:Function")
    assert fn.inputs["buildConfig"]["runtime"] == "python312", fn.urn
    assert fn.inputs["buildConfig"]["entryPoint"] == "handle"
    assert fn.inputs["serviceConfig"]["serviceAccountEmail"] == account.inputs["email"]
    (grant,) = mocks.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    events = next(b for b in mocks.of_type("gcp:storage/bucket:Bucket") if "events" in b.name)
    assert (grant.inputs["bucket"], grant.inputs["role"]) == (
        events.inputs["name"],
        "roles/storage.objectUser",
    )
    assert grant.inputs["member"] == f"serviceAccount:{account.inputs['email']}"
    env = fn.inputs["serviceConfig"]["environmentVariables"]
    assert env["LAMBDA_BUCKET"] == events.inputs["name"]
    assert env["LAMBDA_PEER_URLS"] == AWS_URL


def test_gcp_source_object_is_content_hashed_in_the_source_bucket(gcp_run: Any) -> None:
    mocks, _ = gcp_run
    obj = mocks.one("gcp:storage/bucketObject:BucketObject")
    fn = mocks.one("gcp:cloudfunctionsv2/function:Function")
    source = fn.inputs["buildConfig"]["source"]["storageSource"]
    assert source["object"] == obj.inputs["name"]
    assert obj.inputs["name"].startswith("lambda-gcp-")
    assert len(obj.inputs["name"]) == 31


def test_gcp_is_public_through_run_invoker_for_all_users(gcp_run: Any) -> None:
    mocks, result = gcp_run
    member = mocks.one("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
    assert (member.inputs["role"], member.inputs["member"]) == ("roles/run.invoker", "allUsers")
    fn = mocks.one("gcp:cloudfunctionsv2/function:Function")
    assert member.inputs["name"] == fn.inputs["serviceConfig"]["service"], member.urn
    assert result["base_url"] == "https://lambda-gcp-abc123-ew.a.run.app"


AZURE_CONFIG = {"region": "westeurope"}


@pytest.fixture(scope="module")
def azure_run() -> tuple[RecordingMocks, dict[str, Any]]:
    return run_program("azure", AZURE_CONFIG, peers(aws=AWS_URL, gcp=GCP_URL))


def test_azure_storage_has_no_public_blob_access_and_tls_1_2(azure_run: Any) -> None:
    mocks, _ = azure_run
    account = mocks.one("azure-native:storage:StorageAccount")
    assert account.inputs["allowBlobPublicAccess"] is False, account.urn
    assert account.inputs["minimumTlsVersion"] == "TLS1_2"
    assert account.inputs["allowSharedKeyAccess"] is False
    for container in mocks.of_type("azure-native:storage:BlobContainer"):
        assert container.inputs["publicAccess"] == "None", container.urn


def test_azure_runs_on_flex_with_identity_and_a_scoped_role(azure_run: Any) -> None:
    mocks, result = azure_run
    plan = mocks.one("azure-native:web:AppServicePlan")
    assert plan.inputs["sku"] == {"name": "FC1", "tier": "FlexConsumption"}, plan.urn
    app = mocks.one("azure-native:web:WebApp")
    assert app.inputs["identity"]["type"] == "SystemAssigned"
    config = app.inputs["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.12"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "SystemAssignedIdentity"
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    assert "WEBSITE_RUN_FROM_PACKAGE" not in settings  # Flex refuses it
    assert settings["LAMBDA_PEER_URLS"] == f"{AWS_URL},{GCP_URL}"
    assert settings["LAMBDA_AZURE_ACCOUNT_URL"].endswith(".blob.core.windows.net/")
    role = mocks.one("azure-native:authorization:RoleAssignment")
    account = mocks.one("azure-native:storage:StorageAccount")
    assert role.inputs["scope"] == account.inputs["id"], role.urn
    assert role.inputs["principalId"] == app.inputs["identity"]["principalId"]
    assert role.inputs["roleDefinitionId"].endswith("b7e6dc6d-f1e8-4753-8033-0f276bb0955b")
    assert result["base_url"].startswith("https://")
    assert "azurewebsites.net" in result["base_url"]


def test_azure_code_is_deployed_by_the_program_through_one_deploy(azure_run: Any) -> None:
    mocks, _ = azure_run
    deploy = mocks.one("pulumi-python:dynamic:Resource")
    assert ".scm." in deploy.inputs["scm_host"], deploy.urn
    assert len(deploy.inputs["archive_sha256"]) == 64
    assert deploy.inputs["archive_path"].endswith(".zip")


def test_azure_consumption_switch_runs_from_a_sas_package_url() -> None:
    mocks, _ = run_program(
        "azure", {**AZURE_CONFIG, "azurePlan": "consumption"}, peers(aws=None, gcp=None)
    )
    plan = mocks.one("azure-native:web:AppServicePlan")
    assert plan.inputs["sku"]["name"] == "Y1"
    app = mocks.one("azure-native:web:WebApp")
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    assert "WEBSITE_RUN_FROM_PACKAGE" in settings
    assert mocks.of_type("pulumi-python:dynamic:Resource") == []


def test_aws_outbox_retries_run_on_an_eventbridge_schedule(aws_run: Any) -> None:
    mocks, _ = aws_run
    retry = mocks.named(FN, "lambda-retry")
    main = mocks.named(FN, "lambda-fn")
    assert retry.inputs["handler"] == "functions.aws.handler.retry_outbox", retry.urn
    assert (retry.inputs["role"], retry.inputs["sourceCodeHash"]) == (
        main.inputs["role"],
        main.inputs["sourceCodeHash"],
    )
    rule = mocks.named("aws:cloudwatch/eventRule:EventRule", "lambda-retry-schedule")
    assert rule.inputs["scheduleExpression"] == "rate(1 minute)", rule.urn
    target = mocks.named("aws:cloudwatch/eventTarget:EventTarget", "lambda-retry-target")
    assert target.inputs["arn"] == retry.inputs["arn"]
    invoke = mocks.named("aws:lambda/permission:Permission", "lambda-retry-invoke")
    assert invoke.inputs["principal"] == "events.amazonaws.com"
    assert invoke.inputs["function"] == retry.inputs["name"]
    assert invoke.inputs["sourceArn"] == rule.inputs["arn"]


def test_aws_compaction_runs_hourly_on_its_own_entry_point(aws_run: Any) -> None:
    mocks, _ = aws_run
    compact = mocks.named(FN, "lambda-compact")
    assert compact.inputs["handler"] == "functions.aws.handler.compact", compact.urn
    rule = mocks.named("aws:cloudwatch/eventRule:EventRule", "lambda-compact-schedule")
    assert rule.inputs["scheduleExpression"] == "cron(10 * * * ? *)"
    target = mocks.named("aws:cloudwatch/eventTarget:EventTarget", "lambda-compact-target")
    assert target.inputs["arn"] == compact.inputs["arn"]


def test_aws_retry_token_is_derived_and_secret(aws_run: Any) -> None:
    mocks, _ = aws_run
    env = env_of(mocks, FN, ("environment", "variables"))
    assert len(env["LAMBDA_RETRY_TOKEN"]) == 64
    assert env["LAMBDA_RETRY_TOKEN"] != env["LAMBDA_PEER_SECRET"]


def test_gcp_outbox_retries_run_on_cloud_scheduler_with_a_secret_bearer(gcp_run: Any) -> None:
    mocks, result = gcp_run
    job = mocks.named("gcp:cloudscheduler/job:Job", "lambda-retry")
    target = job.inputs["httpTarget"]
    assert target["uri"] == f"{result['base_url']}/internal/outbox/retry", job.urn
    assert target["httpMethod"] == "POST"
    fn = mocks.one("gcp:cloudfunctionsv2/function:Function")
    token = fn.inputs["serviceConfig"]["environmentVariables"]["LAMBDA_RETRY_TOKEN"]
    assert target["headers"] == {"Authorization": f"Bearer {token}"}
    assert "httpTarget" in job.secret_inputs or "httpTarget.headers" in job.secret_inputs


def test_webhook_rules_reach_the_function_as_a_secret() -> None:
    rules = {"github": {"scheme": "github", "secret": "gh-secret"}}
    mocks, _ = run_program(
        "aws", AWS_CONFIG, peers(gcp=None, azure=None), secrets={"webhooks": rules}
    )
    env = env_of(mocks, FN, ("environment", "variables"))
    assert json.loads(env["LAMBDA_WEBHOOKS"]) == rules
    assert "environment" in mocks.named(FN, "lambda-fn").secret_inputs


def test_gcp_compaction_is_called_hourly_by_cloud_scheduler(gcp_run: Any) -> None:
    mocks, result = gcp_run
    job = mocks.named("gcp:cloudscheduler/job:Job", "lambda-compact")
    assert job.inputs["schedule"] == "10 * * * *"
    assert job.inputs["httpTarget"]["uri"] == f"{result['base_url']}/internal/compact"
