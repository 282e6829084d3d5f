"""GCP: a private events bucket, the zip in a source bucket, two 2nd-gen Cloud Functions (the
HTTP app, and the scheduled jobs with a longer timeout) running as their own service account and
built by a dedicated build account, and public invocation on their Cloud Run services.

A fresh project works on the first `pulumi up`: the APIs a deploy needs are enabled by the
program (and left enabled on destroy), and every resource that calls one depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from stacks.args import FunctionArgs
from stacks.config import StackConfig
from stacks.gcp_bigquery import bigquery

# Read, create, list and delete objects; nothing on the bucket's own settings or IAM.
EVENTS_ROLE = "roles/storage.objectUser"

# What a first deploy calls. Cloud Resource Manager serves the project-level IAM bindings.
APIS = (
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
)

# The build's own account (Cloud Build stopped granting the default one these in new projects
# from July 2024): write build logs and the built image. It reads the source that Cloud
# Functions copies into its `gcf-v2-sources-*` bucket, and no other bucket (IAM condition).
BUILD_ROLES = ("roles/logging.logWriter", "roles/artifactregistry.writer")
SOURCES_CONDITION = 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")'


class GcpFunction(pulumi.ComponentResource):
    base_url: pulumi.Output[str]
    outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:gcp:Function", name, None, opts)
        config = args.config
        self.config = config
        self.apis = [
            gcp.projects.Service(
                f"{name}-api-{api.split('.')[0]}",
                project=config.gcp_project,
                service=api,
                # Other things in the project may use these: never switch them off.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in APIS
        ]
        child = self._after_apis()
        # Stored events outlive the stack: `pulumi destroy` stops at this bucket (README).
        self.bucket = self._private_bucket(f"{name}-events", self._after_apis(protect=True))
        source_bucket = self._private_bucket(f"{name}-source", child)
        source = gcp.storage.BucketObject(
            f"{name}-source-zip",
            bucket=source_bucket.name,
            name=args.archive.object_name,
            source=pulumi.FileAsset(str(args.archive.path)),
            opts=child,
        )
        self.account = self._account(f"{name}-sa", f"{config.prefix}-fn", "function", child)
        self.builder = self._account(f"{name}-build", f"{config.prefix}-build", "build", child)
        gcp.storage.BucketIAMMember(
            f"{name}-events-access",
            bucket=self.bucket.name,
            role=EVENTS_ROLE,
            member=self.account.member,
            opts=child,
        )
        grants = self._build_grants(name, child)
        self._source = gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
            storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                bucket=source_bucket.name, object=source.name
            )
        )
        self._env = args.environment(self.bucket.name)
        self._secret_env, secret_grants = self._secrets(name, args, self._after_apis())
        build_ready = self._after_apis(depends_on=[*grants, *secret_grants])
        self.function = self._function(
            f"{name}-fn", config.prefix, config.timeout_s, build_ready, warm=config.min_instances
        )
        # Compaction and outbox retries get their own function: the HTTP app's request timeout
        # (30 s by default) would cut them off. One instance at most, so runs never overlap.
        self.jobs = self._function(
            f"{name}-jobs", f"{config.prefix}-jobs", config.job_timeout_s, build_ready, 1
        )
        # base_url is the Cloud Run URI (https://<service>-<hash>.<region>.run.app), where the
        # app's routes start at `/`. `Function.url` is https://<region>-<project>.cloudfunctions
        # .net/<name>, whose path begins with the function's name.
        self.base_url = self._public(f"{name}-public", self.function)
        jobs_url = self._public(f"{name}-jobs-public", self.jobs)
        self._scheduler_job(
            f"{name}-retry",
            args,
            jobs_url,
            "/internal/outbox/retry",
            f"*/{config.retry_schedule_minutes} * * * *",
        )
        self._scheduler_job(f"{name}-compact", args, jobs_url, "/internal/compact", "10 * * * *")
        query = bigquery(name, config, self.bucket, self._after_apis())
        self.outputs = {
            **query,
            "bucket": self.bucket.name,
            "functions": {"http": self.function.name, "jobs": self.jobs.name},
            "logs_url": self.function.name.apply(
                lambda fn: (
                    f"https://console.cloud.google.com/run/detail/{config.region}/{fn}"
                    f"/logs?project={config.gcp_project}"
                )
            ),
        }
        self.register_outputs({"base_url": self.base_url, **self.outputs})

    def _secrets(
        self, name: str, args: FunctionArgs, child: pulumi.ResourceOptions
    ) -> tuple[
        list[gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs],
        list[pulumi.Resource],
    ]:
        """Each secret in Secret Manager, readable by the function's account alone, and given
        to the function as `secret_environment_variables` at its pinned version (a new value
        is a new version, hence a new revision)."""
        env, grants = [], []
        for key, value in sorted(args.secrets().items()):
            slug = key.lower().replace("_", "-")
            secret = gcp.secretmanager.Secret(
                f"{name}-{slug}",
                secret_id=f"{self.config.prefix}-{slug}",
                project=self.config.gcp_project,
                replication=gcp.secretmanager.SecretReplicationArgs(
                    auto=gcp.secretmanager.SecretReplicationAutoArgs()
                ),
                labels=self.config.tags,
                opts=child,
            )
            version = gcp.secretmanager.SecretVersion(
                f"{name}-{slug}-value", secret=secret.id, secret_data=value, opts=child
            )
            grants.append(
                gcp.secretmanager.SecretIamMember(
                    f"{name}-{slug}-access",
                    project=self.config.gcp_project,
                    secret_id=secret.secret_id,
                    role="roles/secretmanager.secretAccessor",
                    member=self.account.member,
                    opts=child,
                )
            )
            grants.append(version)
            env.append(
                gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs(
                    key=key,
                    project_id=self.config.gcp_project,
                    secret=secret.secret_id,
                    version=version.version,
                )
            )
        return env, grants

    def _after_apis(
        self, protect: bool = False, depends_on: Sequence[pulumi.Resource] = ()
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, depends_on=[*self.apis, *depends_on], protect=protect
        )

    def _private_bucket(self, name: str, opts: pulumi.ResourceOptions) -> gcp.storage.Bucket:
        return gcp.storage.Bucket(
            name,
            location=self.config.region,
            project=self.config.gcp_project,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=False,
            labels=self.config.tags,
            opts=opts,
        )

    def _account(
        self, name: str, account_id: str, role: str, opts: pulumi.ResourceOptions
    ) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            name,
            account_id=account_id[:28].rstrip("-"),
            display_name=f"LAMBDA {role} ({self.config.stack})",
            project=self.config.gcp_project,
            opts=opts,
        )

    def _build_grants(self, name: str, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        grants: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{name}-build-{role.split('/')[1].split('.')[0]}",
                project=self.config.gcp_project,
                role=role,
                member=self.builder.member,
                opts=child,
            )
            for role in BUILD_ROLES
        ]
        grants.append(
            gcp.projects.IAMMember(
                f"{name}-build-sources",
                project=self.config.gcp_project,
                role="roles/storage.objectViewer",
                member=self.builder.member,
                condition=gcp.projects.IAMMemberConditionArgs(
                    title="gcf-v2-sources only", expression=SOURCES_CONDITION
                ),
                opts=child,
            )
        )
        return grants

    def _function(
        self,
        name: str,
        function_name: str,
        timeout: int,
        opts: pulumi.ResourceOptions,
        max_instances: int | None = None,
        warm: int = 0,
    ) -> gcp.cloudfunctionsv2.Function:
        config = self.config
        return gcp.cloudfunctionsv2.Function(
            name,
            name=function_name,
            location=config.region,
            project=config.gcp_project,
            labels=config.tags,
            build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
                runtime=f"python{config.python.replace('.', '')}",
                entry_point="handle",
                source=self._source,
                # Accepts the account's resource name, projects/<p>/serviceAccounts/<email>.
                service_account=self.builder.name,
            ),
            service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                available_memory=f"{config.memory_mb}M",
                timeout_seconds=timeout,
                max_instance_count=max_instances,
                min_instance_count=warm or None,
                service_account_email=self.account.email,
                ingress_settings="ALLOW_ALL",
                environment_variables=self._env,
                secret_environment_variables=self._secret_env,
            ),
            opts=opts,
        )

    def _public(self, name: str, function: gcp.cloudfunctionsv2.Function) -> pulumi.Output[str]:
        """A 2nd-gen function is served by Cloud Run: the Cloud Functions invoker role alone
        does not make it public; run.invoker for allUsers on its service does."""
        gcp.cloudrunv2.ServiceIamMember(
            name,
            project=self.config.gcp_project,
            location=self.config.region,
            name=function.service_config.apply(lambda c: c.service if c else None),
            role="roles/run.invoker",
            member="allUsers",
            opts=pulumi.ResourceOptions(parent=self),
        )
        uri: pulumi.Output[str] = function.service_config.apply(
            lambda c: (c.uri or "").rstrip("/") if c else ""
        )
        return uri

    def _scheduler_job(
        self, name: str, args: FunctionArgs, url: pulumi.Output[str], path: str, cron: str
    ) -> None:
        """Cloud Scheduler calls a scheduled route with the bearer token (a secret header)."""
        config: StackConfig = args.config
        headers: pulumi.Output[dict[str, str]] = pulumi.Output.secret(
            args.key.retry_token.apply(lambda t: {"Authorization": f"Bearer {t}"})
        )
        gcp.cloudscheduler.Job(
            name,
            project=config.gcp_project,
            region=config.region,
            schedule=cron,
            # Scheduler's own limit is 30 min; give the run its whole timeout plus a margin.
            attempt_deadline=f"{min(config.job_timeout_s + 30, 1800)}s",
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                uri=url.apply(lambda base: f"{base}{path}"),
                http_method="POST",
                headers=headers,
            ),
            opts=self._after_apis(),
        )
