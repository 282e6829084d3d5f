"""The AWS stack under mocks: what matters in production."""

from __future__ import annotations

import json

import pytest

from functions.core.schedules import JOBS
from tests.infra.conftest import AZURE_URL, GCP_URL, SECRET_NAMES, Run, env_of, secret_values
from tests.support.pulumi_mocks import ORG, PEER_KEY, run_program

FN = "aws:lambda/function:Function"
BUCKET = "aws:s3/bucket:Bucket"
TAGS = {"project": "lambda", "stack": "aws", "cloud": "aws"}


def test_aws_buckets_are_private_encrypted_and_owner_enforced(aws_run: Run) -> None:
    mocks, _ = aws_run
    buckets = {b.outputs["bucket"] for b in mocks.of_type(BUCKET)}
    assert len(buckets) == 3  # events, the code artifacts, and Athena's query results
    blocks = mocks.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert {b.inputs["bucket"] for b in blocks} == buckets
    for block in blocks:
        flags = (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
        assert all(block.inputs[k] is True for k in flags), block.urn
    owners = mocks.of_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert {o.inputs["rule"]["objectOwnership"] for o in owners} == {"BucketOwnerEnforced"}
    sse = mocks.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert {s.inputs["bucket"] for s in sse} == buckets
    for config in sse:
        rule = config.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "AES256", config.urn


def test_aws_events_bucket_is_protected_from_an_accidental_destroy(aws_run: Run) -> None:
    mocks, _ = aws_run
    assert mocks.named(BUCKET, "lambda-events").protect
    assert mocks.named(BUCKET, "lambda-events").inputs["forceDestroy"] is False
    assert not mocks.named(BUCKET, "lambda-artifacts").protect


def test_aws_role_may_only_touch_its_own_bucket_objects_and_log_group(aws_run: Run) -> None:
    mocks, _ = aws_run
    policy = mocks.named("aws:iam/rolePolicy:RolePolicy", "lambda-policy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    bucket_arn = mocks.named(BUCKET, "lambda-events").outputs["arn"]
    allowed = {(tuple(s["Action"]), s["Resource"]) for s in statements}
    log_arn = mocks.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    secret_arn = mocks.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    assert allowed == {
        (("s3:PutObject", "s3:GetObject", "s3:DeleteObject"), f"{bucket_arn}/*"),
        (("s3:ListBucket",), bucket_arn),
        (("logs:CreateLogStream", "logs:PutLogEvents"), f"{log_arn}:*"),
        (("secretsmanager:GetSecretValue",), secret_arn),
    }, policy.urn
    assume = json.loads(mocks.named("aws:iam/role:Role", "lambda-role").inputs["assumeRolePolicy"])
    assert assume["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_aws_code_is_uploaded_once_to_s3_and_every_function_points_at_it(aws_run: Run) -> None:
    mocks, _ = aws_run
    code = mocks.one("aws:s3/bucketObjectv2:BucketObjectv2")
    artifacts = mocks.named(BUCKET, "lambda-artifacts").outputs
    assert code.inputs["bucket"] == artifacts["bucket"]
    assert code.inputs["key"].startswith("lambda-aws-")
    assert code.inputs["key"].endswith(".zip")
    functions = mocks.of_type(FN)
    assert len(functions) == 1 + len(JOBS)  # the HTTP function and one per job
    for fn in functions:
        assert (fn.inputs["s3Bucket"], fn.inputs["s3Key"]) == (
            code.inputs["bucket"],
            code.inputs["key"],
        ), fn.urn
        assert "code" not in fn.inputs, f"{fn.urn} uploads the zip directly (50 MB limit)"
        assert fn.inputs["sourceCodeHash"]


def test_aws_functions_wait_for_their_role_policy(aws_run: Run) -> None:
    mocks, _ = aws_run
    for fn in mocks.of_type(FN):
        assert "aws:iam/rolePolicy:RolePolicy::lambda-policy" in fn.depends_on, fn.urn


def test_aws_functions_reserve_no_concurrency_so_a_new_account_can_create_them(
    aws_run: Run,
) -> None:
    # A new account's concurrency quota is 10 and Lambda keeps 10 unreserved: any reservation
    # fails the create ("decreases account's UnreservedConcurrentExecution below its minimum
    # value of [10]", Lambda API reference, PutFunctionConcurrency). The jobs take a lease in
    # the bucket instead (tests/contract/test_job_lease.py), told how long by their timeout.
    mocks, _ = aws_run
    for fn in mocks.of_type(FN):
        assert "reservedConcurrentExecutions" not in fn.inputs, fn.urn
    for name in ("lambda-retry", "lambda-compact"):
        fn = mocks.named(FN, name)
        assert fn.inputs["timeout"] == 540, fn.urn
        assert fn.inputs["environment"]["variables"]["LAMBDA_JOB_TIMEOUT"] == "540", fn.urn


def test_aws_athena_results_bucket_is_emptied_on_destroy_and_events_bucket_is_not(
    aws_run: Run,
) -> None:
    # Athena writes query results that Pulumi never created: without force_destroy, S3's
    # DeleteBucket answers BucketNotEmpty and `pulumi destroy` stops there.
    mocks, _ = aws_run
    assert mocks.named(BUCKET, "lambda-athena-results").inputs["forceDestroy"] is True
    events = mocks.named(BUCKET, "lambda-events")
    assert events.inputs["forceDestroy"] is False, events.urn


def test_aws_function_runtime_memory_timeout_and_logs(aws_run: Run) -> None:
    mocks, _ = aws_run
    fn = mocks.named(FN, "lambda-fn")
    assert fn.inputs["runtime"] == "python3.12", fn.urn
    assert fn.inputs["architectures"] == ["arm64"], fn.urn
    assert fn.inputs["handler"] == "functions.aws.handler.handler"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (768, 20)
    logs = mocks.one("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == 14
    assert fn.inputs["loggingConfig"]["logGroup"] == logs.inputs["name"]


def test_aws_function_url_is_public_with_both_permissions(aws_run: Run) -> None:
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
    # The provider's Function URL ends with a slash; base_url does not.
    assert result["base_url"] == url.outputs["functionUrl"].rstrip("/")


def test_aws_secrets_live_in_secrets_manager_and_the_function_gets_only_its_arn(
    aws_run: Run,
) -> None:
    mocks, _ = aws_run
    env = env_of(mocks, FN, "lambda-fn", ("environment", "variables"))
    assert not set(SECRET_NAMES) & set(env), "a secret sits in the function's configuration"
    assert env["LAMBDA_SECRETS_ARN"] == mocks.one("aws:secretsmanager/secret:Secret").outputs["arn"]
    for fn in mocks.of_type(FN):
        assert "aws:secretsmanager/secretVersion:SecretVersion::lambda-secrets-value" in (
            fn.depends_on
        ), f"{fn.urn} may start before its secret has a value"
    secrets = secret_values(mocks, "aws")
    assert env["LAMBDA_PEER_URLS"] == f"{GCP_URL},{AZURE_URL}"
    assert json.loads(secrets["LAMBDA_PEER_KEYS"]) == [
        PEER_KEY + f"{ORG}/lambda/gcp",
        PEER_KEY + f"{ORG}/lambda/azure",
    ]
    assert env["LAMBDA_BUCKET"] == mocks.named(BUCKET, "lambda-events").outputs["bucket"]
    assert env["LAMBDA_ORIGIN"] == "aws"
    generated = mocks.one("random:index/randomPassword:RandomPassword")
    assert secrets["LAMBDA_PEER_SECRET"] == generated.outputs["result"]
    assert len(secrets["LAMBDA_RETRY_TOKEN"]) == 64
    assert secrets["LAMBDA_RETRY_TOKEN"] != secrets["LAMBDA_PEER_SECRET"]


def test_aws_outbox_retries_run_on_an_eventbridge_schedule(aws_run: Run) -> None:
    mocks, _ = aws_run
    retry, main = mocks.named(FN, "lambda-retry"), mocks.named(FN, "lambda-fn")
    assert retry.inputs["handler"] == "functions.aws.handler.retry_outbox", retry.urn
    assert (retry.inputs["role"], retry.inputs["s3Key"]) == (
        main.inputs["role"],
        main.inputs["s3Key"],
    )
    rule = mocks.named("aws:cloudwatch/eventRule:EventRule", "lambda-retry-schedule")
    assert rule.inputs["scheduleExpression"] == "rate(1 minute)", rule.urn
    target = mocks.named("aws:cloudwatch/eventTarget:EventTarget", "lambda-retry-target")
    assert target.inputs["arn"] == retry.outputs["arn"]
    invoke = mocks.named("aws:lambda/permission:Permission", "lambda-retry-invoke")
    assert invoke.inputs["principal"] == "events.amazonaws.com"
    assert invoke.inputs["function"] == retry.inputs["name"]
    assert invoke.inputs["sourceArn"] == rule.outputs["arn"]


def test_aws_compaction_runs_hourly_on_its_own_entry_point(aws_run: Run) -> None:
    mocks, _ = aws_run
    compact = mocks.named(FN, "lambda-compact")
    assert compact.inputs["handler"] == "functions.aws.handler.compact", compact.urn
    rule = mocks.named("aws:cloudwatch/eventRule:EventRule", "lambda-compact-schedule")
    assert rule.inputs["scheduleExpression"] == "cron(10 * * * ? *)"
    target = mocks.named("aws:cloudwatch/eventTarget:EventTarget", "lambda-compact-target")
    assert target.inputs["arn"] == compact.outputs["arn"]


def test_aws_every_taggable_resource_carries_project_stack_and_cloud(aws_run: Run) -> None:
    mocks, _ = aws_run
    taggable = (
        BUCKET,
        FN,
        "aws:iam/role:Role",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:s3/bucketObjectv2:BucketObjectv2",
    )
    for typ in taggable:
        for resource in mocks.of_type(typ):
            assert resource.inputs.get("tags") == TAGS, resource.urn


def test_aws_outputs_name_the_bucket_functions_and_log_console(aws_run: Run) -> None:
    mocks, result = aws_run
    assert result["bucket"] == mocks.named(BUCKET, "lambda-events").outputs["bucket"]
    assert result["functions"] == {
        "http": "lambda-aws",
        "retry": "lambda-aws-retry",
        "compact": "lambda-aws-compact",
        "reconcile": "lambda-aws-reconcile",
    }
    assert result["logs_url"].startswith("https://eu-west-1.console.aws.amazon.com/cloudwatch/")
    assert result["logs_url"].endswith("log-group/$252Faws$252Flambda$252Flambda-aws")


def test_aws_warm_instances_are_provisioned_concurrency_on_a_live_alias_the_url_serves() -> None:
    mocks, _ = run_program("aws", {"lambda:minInstances": "2"})
    fn = mocks.named(FN, "lambda-fn")
    assert fn.inputs["publish"] is True, fn.urn
    alias = mocks.one("aws:lambda/alias:Alias")
    assert (alias.inputs["name"], alias.inputs["functionVersion"]) == (
        "live",
        fn.outputs["version"],
    )
    warm = mocks.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert (warm.inputs["qualifier"], warm.inputs["provisionedConcurrentExecutions"]) == ("live", 2)
    assert mocks.one("aws:lambda/functionUrl:FunctionUrl").inputs["qualifier"] == "live"
    for permission in mocks.of_type("aws:lambda/permission:Permission"):
        if permission.inputs["principal"] == "*":
            assert permission.inputs["qualifier"] == "live", permission.urn


def test_aws_without_warm_instances_has_no_alias_and_no_cost_while_idle(aws_run: Run) -> None:
    mocks, _ = aws_run
    assert mocks.of_type("aws:lambda/alias:Alias") == []
    assert "publish" not in mocks.named(FN, "lambda-fn").inputs
    env = env_of(mocks, FN, "lambda-fn", ("environment", "variables"))
    assert env["LAMBDA_MEMORY_MB"] == "768"


def test_aws_read_token_is_derived_secret_and_apart_from_the_retry_token(aws_run: Run) -> None:
    mocks, _ = aws_run
    env = secret_values(mocks, "aws")
    assert len(env["LAMBDA_READ_TOKEN"]) == 64
    assert env["LAMBDA_READ_TOKEN"] not in (env["LAMBDA_RETRY_TOKEN"], env["LAMBDA_PEER_SECRET"])


def test_aws_snapstart_runs_published_versions_behind_the_live_alias_the_url_serves() -> None:
    mocks, _ = run_program("aws", {"lambda:snapStart": "true"})
    fn = mocks.named(FN, "lambda-fn")
    assert fn.inputs["publish"] is True, fn.urn
    assert fn.inputs["snapStart"] == {"applyOn": "PublishedVersions"}, fn.urn
    alias = mocks.one("aws:lambda/alias:Alias")
    assert (alias.inputs["name"], alias.inputs["functionVersion"]) == (
        "live",
        fn.outputs["version"],
    )
    # No provisioned concurrency: AWS runs none on a SnapStart version.
    assert (
        mocks.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig") == []
    )
    assert mocks.one("aws:lambda/functionUrl:FunctionUrl").inputs["qualifier"] == "live"
    for permission in mocks.of_type("aws:lambda/permission:Permission"):
        if permission.inputs["principal"] == "*":
            assert permission.inputs["qualifier"] == "live", permission.urn
    # The scheduled jobs are not snapshotted: they run rarely, and never behind the URL.
    for job in mocks.of_type(FN):
        if job.name != "lambda-fn":
            assert "snapStart" not in job.inputs, job.urn


def test_aws_without_snapstart_sets_none(aws_run: Run) -> None:
    mocks, _ = aws_run
    assert "snapStart" not in mocks.named(FN, "lambda-fn").inputs


@pytest.mark.parametrize(
    ("stack", "sets", "says"),
    [
        ("aws", {"lambda:minInstances": "1"}, "exclude each other"),
        ("aws", {"lambda:pythonVersion": "3.11"}, "needs Python 3.12 or later"),
        ("gcp", {}, "gcp has no comparable option"),
        ("azure", {}, "azure has no comparable option"),
    ],
)
def test_snapstart_where_it_cannot_run_stops_with_what_to_change(
    stack: str, sets: dict[str, str], says: str
) -> None:
    with pytest.raises(Exception, match=says):
        run_program(stack, {"lambda:snapStart": "true", **sets})
