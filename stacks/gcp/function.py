"""GCP: the component. A private events bucket, the zip in a source bucket, two 2nd-gen Cloud
Functions (the HTTP app, and the scheduled jobs with a longer timeout) running as their own
service account and built by a dedicated build account, public invocation on the app's Cloud
Run service, a Cloud Scheduler job per scheduled job calling the jobs' service with its own OIDC
identity (the only one that may invoke it), and the BigQuery table. See docs/deploying.md.

A fresh project works on the first `pulumi up`: the APIs a deploy needs are enabled by the
program (and left enabled on destroy), and every resource that calls one depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from stacks.args import FunctionArgs
from stacks.gcp.bigquery import BigQueryTable, bigquery
from stacks.gcp.iam import EVENTS_ROLE, build_grants, secret_variable, service_account
from stacks.gcp.settle import settle
from stacks.jobs import Schedule, schedules
from stacks.outputs import StackOutputs

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


@dataclass(frozen=True, kw_only=True)
class GcpOutputs(StackOutputs):
    """The common outputs, and the BigQuery table over the compacted events."""

    bigquery_table: pulumi.Output[str]


class GcpFunction(pulumi.ComponentResource):
    """The app on GCP, every resource parented to this component (`lambda:gcp:Function`)."""

    outputs: GcpOutputs

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:gcp:Function", name, None, opts)
        self._name, self._args, self.config = name, args, args.config
        self.apis = self._enable_apis()
        child = self._after_apis()
        # Stored events outlive the stack: `pulumi destroy` stops at this bucket
        # (docs/deploying.md).
        self.bucket = self._private_bucket(f"{name}-events", self._after_apis(protect=True))
        self._source = self._upload_source(child)
        self.account, self.builder = self._accounts(child)
        self.scheduler = service_account(
            f"{name}-scheduler", f"{self.config.prefix}-sched", "scheduler", self.config, child
        )
        self._grant_events(child)
        grants = build_grants(name, self.config, self.builder, child)
        self._env = args.environment(self.bucket.name)
        self._secret_env, secret_grants = self._secrets(name, args, self._after_apis())
        self.function, self.jobs = self._functions(
            self._after_apis(depends_on=[*grants, *secret_grants, self._settled(grants)])
        )
        # base_url is the Cloud Run URI (https://<service>-<hash>.<region>.run.app), where the
        # app's routes start at `/`. `Function.url` is https://<region>-<project>.cloudfunctions
        # .net/<name>, whose path begins with the function's name.
        base_url = self._invoker(f"{name}-public", self.function, "allUsers")
        # Once `-jobs-public` (allUsers): the same URN, replaced by the scheduler's grant.
        jobs_url = self._invoker(
            f"{name}-jobs-invoker", self.jobs, self.scheduler.member, f"{name}-jobs-public"
        )
        for schedule in schedules(self.config):
            self._scheduler_job(schedule, jobs_url)
        query = bigquery(name, self.config, self.bucket, self._after_apis())
        self.outputs = self._outputs(base_url, query)
        self.register_outputs(self.outputs.as_dict())

    def _settled(self, grants: Sequence[pulumi.Resource]) -> pulumi.Resource:
        """Once grants and APIs have had time to take effect (stacks/gcp/settle.py)."""
        accounts = (self.builder, self.account, self.scheduler)
        self._settle = settle(
            self._name, [a.member for a in accounts], [*self.apis, *grants, *accounts], self
        )
        return self._settle

    def _enable_apis(self) -> list[gcp.projects.Service]:
        return [
            gcp.projects.Service(
                f"{self._name}-api-{api.split('.')[0]}",
                project=self.config.gcp_project,
                service=api,
                # Other things in the project may use these: never switch them off.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in APIS
        ]

    def _upload_source(
        self, child: pulumi.ResourceOptions
    ) -> gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs:
        source_bucket = self._private_bucket(f"{self._name}-source", child)
        archive = self._args.archive
        source = gcp.storage.BucketObject(
            f"{self._name}-source-zip",
            bucket=source_bucket.name,
            name=archive.object_name,
            source=pulumi.FileAsset(str(archive.path)),
            opts=child,
        )
        return gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
            storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                bucket=source_bucket.name, object=source.name
            )
        )

    def _accounts(
        self, child: pulumi.ResourceOptions
    ) -> tuple[gcp.serviceaccount.Account, gcp.serviceaccount.Account]:
        """The function's own account, and the one its builds run as."""
        name, prefix = self._name, self.config.prefix
        return (
            service_account(f"{name}-sa", f"{prefix}-fn", "function", self.config, child),
            service_account(f"{name}-build", f"{prefix}-build", "build", self.config, child),
        )

    def _grant_events(self, child: pulumi.ResourceOptions) -> None:
        gcp.storage.BucketIAMMember(
            f"{self._name}-events-access",
            bucket=self.bucket.name,
            role=EVENTS_ROLE,
            member=self.account.member,
            opts=child,
        )

    def _functions(
        self, build_ready: pulumi.ResourceOptions
    ) -> tuple[gcp.cloudfunctionsv2.Function, gcp.cloudfunctionsv2.Function]:
        """The HTTP app, and the jobs' own function (entry point `jobs`): the app's request
        timeout (30 s by default) would cut compaction and outbox retries off. No instance cap:
        each job's lease in the bucket keeps its runs from overlapping (functions/core/lease.py),
        and an hour's compaction no longer holds the retry runs back."""
        name, config = self._name, self.config
        http = self._function(
            f"{name}-fn", config.prefix, config.timeout_s, build_ready, warm=config.min_instances
        )
        jobs = self._function(
            f"{name}-jobs", f"{config.prefix}-jobs", config.job_timeout_s, build_ready, entry="jobs"
        )
        return http, jobs

    def _outputs(self, base_url: pulumi.Output[str], query: BigQueryTable) -> GcpOutputs:
        config = self.config
        return GcpOutputs(
            base_url=base_url,
            bucket=self.bucket.name,
            functions={"http": self.function.name, "jobs": self.jobs.name},
            logs_url=self.function.name.apply(
                lambda fn: (
                    f"https://console.cloud.google.com/run/detail/{config.region}/{fn}"
                    f"/logs?project={config.gcp_project}"
                )
            ),
            query_example=query.example,
            bigquery_table=query.table,
        )

    def _secrets(
        self, name: str, args: FunctionArgs, child: pulumi.ResourceOptions
    ) -> tuple[list[Any], list[pulumi.Resource]]:
        """Each secret in Secret Manager, readable by the function's account alone, and given
        to the function as `secret_environment_variables` at its pinned version (a new value
        is a new version, hence a new revision)."""
        env, grants = [], []
        for key, value in sorted(args.secrets().items()):
            variable, waits = secret_variable(name, self.config, key, value, self.account, child)
            env.append(variable)
            grants += waits
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

    def _function(
        self,
        name: str,
        function_name: str,
        timeout: int,
        opts: pulumi.ResourceOptions,
        warm: int = 0,
        entry: str = "handle",
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
                entry_point=entry,
                source=self._source,
                # Accepts the account's resource name, projects/<p>/serviceAccounts/<email>.
                service_account=self.builder.name,
            ),
            service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                available_memory=f"{config.memory_mb}Mi",  # MiB, as Lambda's MB; "M" is 10**6 bytes
                timeout_seconds=timeout,
                min_instance_count=warm or None,
                service_account_email=self.account.email,
                ingress_settings="ALLOW_ALL",
                environment_variables=self._env,
                secret_environment_variables=self._secret_env,
            ),
            opts=opts,
        )

    def _invoker(
        self,
        name: str,
        function: gcp.cloudfunctionsv2.Function,
        member: pulumi.Input[str],
        was: str | None = None,
    ) -> pulumi.Output[str]:
        """A 2nd-gen function is served by Cloud Run, which checks run.invoker on its service
        (the Cloud Functions invoker role alone does nothing): for allUsers the app is public;
        for one account, only that account's OIDC tokens get through."""
        gcp.cloudrunv2.ServiceIamMember(
            name,
            project=self.config.gcp_project,
            location=self.config.region,
            name=function.service_config.apply(lambda c: c.service if c else None),
            role="roles/run.invoker",
            member=member,
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[pulumi.Alias(name=was)] if was else None
            ),
        )
        uri: pulumi.Output[str] = function.service_config.apply(
            lambda c: (c.uri or "").rstrip("/") if c else ""
        )
        return uri

    def _scheduler_job(self, schedule: Schedule, url: pulumi.Output[str]) -> None:
        """Cloud Scheduler calls a scheduled route as the scheduler's account, with an OIDC
        token whose audience is the jobs service's URL (what Cloud Run checks): no long-lived
        secret sits in the job, where the Scheduler API would show it to any viewer."""
        config, route = self.config, schedule.job.route
        gcp.cloudscheduler.Job(
            f"{self._name}-{schedule.slug}",
            project=config.gcp_project,
            region=config.region,
            schedule=schedule.unix_cron(),
            # Scheduler's own limit is 30 min; give the run its whole timeout plus a margin.
            attempt_deadline=f"{min(config.job_timeout_s + 30, 1800)}s",
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                uri=url.apply(lambda base: f"{base}{route}"),
                http_method="POST",
                oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                    service_account_email=self.scheduler.email, audience=url
                ),
            ),
            opts=self._after_apis(depends_on=[self._settle]),
        )
