"""The GCP stack under mocks: a fresh project's first deploy, and what matters in production."""

from __future__ import annotations

from tests.infra.conftest import AWS_URL, SECRET_NAMES, Run, env_of, secret_values
from tests.support.pulumi_mocks import GCP_PROJECT

FN = "gcp:cloudfunctionsv2/function:Function"
BUCKET = "gcp:storage/bucket:Bucket"
ACCOUNT = "gcp:serviceaccount/account:Account"
INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
LABELS = {"project": "lambda", "stack": "gcp", "cloud": "gcp"}


def test_gcp_enables_every_api_a_first_deploy_calls_and_never_disables_them(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    services = mocks.of_type("gcp:projects/service:Service")
    assert {s.inputs["service"] for s in services} >= {
        "run.googleapis.com",
        "cloudfunctions.googleapis.com",
        "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com",
        "cloudscheduler.googleapis.com",
        "iam.googleapis.com",
        "cloudresourcemanager.googleapis.com",
    }
    for service in services:
        assert service.inputs["disableOnDestroy"] is False, service.urn
        assert service.inputs["disableDependentServices"] is False, service.urn
        assert service.inputs["project"] == GCP_PROJECT


def test_gcp_resources_that_call_an_api_depend_on_it_being_enabled(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    apis = {
        f"gcp:projects/service:Service::{s.name}"
        for s in mocks.of_type("gcp:projects/service:Service")
    }
    for typ in (
        FN,
        BUCKET,
        ACCOUNT,
        "gcp:cloudscheduler/job:Job",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:storage/bucketObject:BucketObject",
    ):
        for resource in mocks.of_type(typ):
            assert apis <= set(resource.depends_on), resource.urn


def test_gcp_builds_run_as_a_dedicated_least_privilege_account(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    builder = mocks.named(ACCOUNT, "lambda-build")
    for fn in mocks.of_type(FN):
        # build_config.service_account takes the account's resource name.
        assert fn.inputs["buildConfig"]["serviceAccount"] == builder.outputs["name"], fn.urn
        assert fn.inputs["buildConfig"]["serviceAccount"].startswith(
            f"projects/{GCP_PROJECT}/serviceAccounts/"
        )
    grants = {g.inputs["role"]: g.inputs for g in mocks.of_type("gcp:projects/iAMMember:IAMMember")}
    assert set(grants) == {
        "roles/logging.logWriter",
        "roles/artifactregistry.writer",
        "roles/storage.objectViewer",
    }
    assert {g["member"] for g in grants.values()} == {builder.outputs["member"]}
    # Reading sources is limited to the buckets Cloud Functions stages them in.
    condition = grants["roles/storage.objectViewer"]["condition"]["expression"]
    assert "buckets/gcf-v2-sources-" in condition
    for fn in mocks.of_type(FN):
        grant_urns = {
            f"gcp:projects/iAMMember:IAMMember::{n}"
            for n in (
                "lambda-build-logging",
                "lambda-build-artifactregistry",
                "lambda-build-sources",
            )
        }
        assert grant_urns <= set(fn.depends_on), f"{fn.urn} may build before its grants exist"


def test_gcp_base_url_is_the_cloud_run_uri_not_the_cloudfunctions_url(gcp_run: Run) -> None:
    mocks, result = gcp_run
    fn = mocks.named(FN, "lambda-fn")
    assert result["base_url"] == fn.outputs["serviceConfig"]["uri"]
    assert result["base_url"].endswith(".run.app")
    assert "cloudfunctions.net" in fn.outputs["url"]  # the form with the name as a path


def test_gcp_buckets_are_private_and_the_events_bucket_is_protected(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    buckets = mocks.of_type(BUCKET)
    assert len(buckets) == 2
    for bucket in buckets:
        assert bucket.inputs["uniformBucketLevelAccess"] is True, bucket.urn
        assert bucket.inputs["publicAccessPrevention"] == "enforced", bucket.urn
        assert bucket.inputs["labels"] == LABELS, bucket.urn
        assert bucket.protect == (bucket.name == "lambda-events"), bucket.urn


def test_gcp_function_runs_as_its_own_account_with_access_to_the_events_bucket_only(
    gcp_run: Run,
) -> None:
    mocks, _ = gcp_run
    account = mocks.named(ACCOUNT, "lambda-sa")
    fn = mocks.named(FN, "lambda-fn")
    assert fn.inputs["buildConfig"]["runtime"] == "python312", fn.urn
    assert fn.inputs["buildConfig"]["entryPoint"] == "handle"
    assert fn.inputs["serviceConfig"]["serviceAccountEmail"] == account.outputs["email"]
    assert fn.inputs["serviceConfig"]["ingressSettings"] == "ALLOW_ALL"
    assert fn.inputs["labels"] == LABELS
    (grant,) = mocks.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    events = mocks.named(BUCKET, "lambda-events")
    assert (grant.inputs["bucket"], grant.inputs["role"]) == (
        events.outputs["name"],
        "roles/storage.objectUser",
    )
    assert grant.inputs["member"] == f"serviceAccount:{account.outputs['email']}"
    env = env_of(mocks, FN, "lambda-fn", ("serviceConfig", "environmentVariables"))
    assert env["LAMBDA_BUCKET"] == events.outputs["name"]
    assert env["LAMBDA_PEER_URLS"] == AWS_URL


def test_gcp_source_object_is_content_hashed_in_the_source_bucket(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    obj = mocks.one("gcp:storage/bucketObject:BucketObject")
    for fn in mocks.of_type(FN):
        source = fn.inputs["buildConfig"]["source"]["storageSource"]
        assert source["object"] == obj.inputs["name"], fn.urn
    assert obj.inputs["name"].startswith("lambda-gcp-")
    assert len(obj.inputs["name"]) == 31


def test_gcp_the_app_is_public_and_the_jobs_only_the_schedulers(gcp_run: Run) -> None:
    # Cloud Run checks run.invoker on the service for every request (Cloud Run docs,
    # "Authenticating service-to-service"/"Allowing public access").
    mocks, _ = gcp_run
    http, jobs = mocks.named(FN, "lambda-fn"), mocks.named(FN, "lambda-jobs")
    scheduler = mocks.named(ACCOUNT, "lambda-scheduler")
    members = {
        m.inputs["name"]: (m.inputs["role"], m.inputs["member"]) for m in mocks.of_type(INVOKER)
    }
    assert members == {
        http.outputs["serviceConfig"]["service"]: ("roles/run.invoker", "allUsers"),
        jobs.outputs["serviceConfig"]["service"]: (
            "roles/run.invoker",
            scheduler.outputs["member"],
        ),
    }


def test_gcp_scheduled_routes_run_on_a_jobs_function_with_a_long_timeout(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    http, jobs = mocks.named(FN, "lambda-fn"), mocks.named(FN, "lambda-jobs")
    assert http.inputs["serviceConfig"]["timeoutSeconds"] == 30
    assert jobs.inputs["serviceConfig"]["timeoutSeconds"] == 540
    assert jobs.inputs["buildConfig"]["entryPoint"] == "jobs"
    # No instance cap: the job leases keep runs apart, and compaction never blocks a retry.
    assert "maxInstanceCount" not in jobs.inputs["serviceConfig"]
    jobs_uri = jobs.outputs["serviceConfig"]["uri"]
    scheduler = mocks.named(ACCOUNT, "lambda-scheduler")
    for name, path, schedule in (
        ("lambda-retry", "/internal/outbox/retry", "*/1 * * * *"),
        ("lambda-compact", "/internal/compact", "10 * * * *"),
    ):
        job = mocks.named("gcp:cloudscheduler/job:Job", name)
        target = job.inputs["httpTarget"]
        assert target["uri"] == f"{jobs_uri}{path}", job.urn
        assert target["httpMethod"] == "POST"
        assert job.inputs["schedule"] == schedule
        assert job.inputs["attemptDeadline"] == "570s"
        # No long-lived secret in the job: Scheduler mints an OIDC token as its account, for
        # the service's URL, which is the audience Cloud Run accepts.
        assert "headers" not in target, job.urn
        assert target["oidcToken"] == {
            "serviceAccountEmail": scheduler.outputs["email"],
            "audience": jobs_uri,
        }, job.urn
        assert not job.secret_inputs, job.urn


def test_gcp_outputs_name_the_bucket_functions_and_log_console(gcp_run: Run) -> None:
    mocks, result = gcp_run
    assert result["bucket"] == mocks.named(BUCKET, "lambda-events").outputs["name"]
    assert result["functions"] == {"http": "lambda-gcp", "jobs": "lambda-gcp-jobs"}
    assert result["logs_url"] == (
        "https://console.cloud.google.com/run/detail/europe-west1/lambda-gcp/logs"
        f"?project={GCP_PROJECT}"
    )


def test_gcp_warm_instances_are_the_http_functions_minimum() -> None:
    from tests.infra.conftest import GCP_PROJECT_SET
    from tests.support.pulumi_mocks import run_program

    mocks, _ = run_program("gcp", {**GCP_PROJECT_SET, "lambda:minInstances": "1"})
    assert mocks.named(FN, "lambda-fn").inputs["serviceConfig"]["minInstanceCount"] == 1
    assert "minInstanceCount" not in mocks.named(FN, "lambda-jobs").inputs["serviceConfig"]


def test_gcp_secrets_live_in_secret_manager_readable_by_the_function_alone(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    account = mocks.named(ACCOUNT, "lambda-sa")
    for fn in mocks.of_type(FN):
        env = fn.inputs["serviceConfig"]["environmentVariables"]
        assert not set(SECRET_NAMES) & set(env), f"{fn.urn}: a secret in plain env"
        refs = {s["key"]: s for s in fn.inputs["serviceConfig"]["secretEnvironmentVariables"]}
        assert set(refs) == set(SECRET_NAMES), fn.urn
        for ref in refs.values():
            assert ref["version"] == "1", "pinned: a new value rolls a new revision"
    grants = mocks.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert len(grants) == len(SECRET_NAMES)
    for grant in grants:
        assert (grant.inputs["role"], grant.inputs["member"]) == (
            "roles/secretmanager.secretAccessor",
            account.outputs["member"],
        ), grant.urn
    assert set(secret_values(mocks, "gcp")) == set(SECRET_NAMES)


SLEEP = "time:index/sleep:Sleep"


def test_gcp_the_jobs_grant_keeps_the_urn_of_the_public_grant_it_replaces(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    assert mocks.named(INVOKER, "lambda-jobs-invoker").aliases == ("lambda-jobs-public",)
    assert mocks.named(INVOKER, "lambda-public").aliases == ()


def test_gcp_first_builds_wait_for_grants_and_apis_to_take_effect(gcp_run: Run) -> None:
    # IAM changes usually take effect within two minutes (cloud.google.com/iam/docs/
    # access-change-propagation); a build that starts before fails, and nothing retries it.
    mocks, _ = gcp_run
    sleep = mocks.one(SLEEP)
    assert sleep.inputs["createDuration"] == "120s", sleep.urn
    waited = set(sleep.depends_on)
    for typ in ("gcp:projects/service:Service", "gcp:projects/iAMMember:IAMMember", ACCOUNT):
        for resource in mocks.of_type(typ):
            assert f"{typ}::{resource.name}" in waited, resource.urn
    members = {a.outputs["member"] for a in mocks.of_type(ACCOUNT)}
    assert set(sleep.inputs["triggers"].values()) == members
    for resource in [*mocks.of_type(FN), *mocks.of_type("gcp:cloudscheduler/job:Job")]:
        assert f"{SLEEP}::lambda-iam-settle" in resource.depends_on, resource.urn
