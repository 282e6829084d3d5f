"""GCP: a private events bucket, the zip in a source bucket, a 2nd-gen Cloud Function running as
its own service account, and public invocation on its Cloud Run service."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from stacks.app_env import function_environment
from stacks.args import FunctionArgs
from stacks.config import StackConfig

# Read, create, list and delete objects; nothing on the bucket's own settings or IAM.
EVENTS_ROLE = "roles/storage.objectUser"


def _private_bucket(
    name: str,
    config: StackConfig,
    opts: pulumi.ResourceOptions,
) -> gcp.storage.Bucket:
    return gcp.storage.Bucket(
        name,
        location=config.region,
        project=config.gcp_project,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        force_destroy=False,
        opts=opts,
    )


class GcpFunction(pulumi.ComponentResource):
    base_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:gcp:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self.bucket = _private_bucket(f"{name}-events", config, child)
        source_bucket = _private_bucket(f"{name}-source", config, child)
        source = gcp.storage.BucketObject(
            f"{name}-source-zip",
            bucket=source_bucket.name,
            name=args.archive.object_name,
            source=pulumi.FileAsset(str(args.archive.path)),
            opts=child,
        )
        self.account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=f"{config.prefix}-fn"[:28].rstrip("-"),
            display_name=f"LAMBDA function ({config.stack})",
            project=config.gcp_project,
            opts=child,
        )
        member = self.account.email.apply(lambda email: f"serviceAccount:{email}")
        gcp.storage.BucketIAMMember(
            f"{name}-events-access",
            bucket=self.bucket.name,
            role=EVENTS_ROLE,
            member=member,
            opts=child,
        )
        self.function = gcp.cloudfunctionsv2.Function(
            f"{name}-fn",
            name=config.prefix,
            location=config.region,
            project=config.gcp_project,
            build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
                runtime=f"python{config.python.replace('.', '')}",
                entry_point="handle",
                source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                    storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                        bucket=source_bucket.name, object=source.name
                    )
                ),
            ),
            service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                available_memory=f"{config.memory_mb}M",
                timeout_seconds=config.timeout_s,
                service_account_email=self.account.email,
                ingress_settings="ALLOW_ALL",
                environment_variables=function_environment(
                    config, self.bucket.name, args.peer_urls
                ),
            ),
            opts=child,
        )
        # A 2nd-gen function is served by Cloud Run: the Cloud Functions invoker role alone does
        # not make it public; run.invoker for allUsers on its service does.
        self.invoker = gcp.cloudrunv2.ServiceIamMember(
            f"{name}-public",
            project=config.gcp_project,
            location=config.region,
            name=self.function.service_config.apply(lambda c: c.service if c else None),
            role="roles/run.invoker",
            member="allUsers",
            opts=child,
        )
        self.base_url = self.function.url.apply(lambda url: url.rstrip("/"))
        self._scheduler_job(
            f"{name}-retry",
            config,
            "/internal/outbox/retry",
            f"*/{config.retry_schedule_minutes} * * * *",
            child,
        )
        self._scheduler_job(f"{name}-compact", config, "/internal/compact", "10 * * * *", child)
        self.register_outputs({"base_url": self.base_url, "bucket": self.bucket.name})

    def _scheduler_job(
        self, name: str, config: StackConfig, path: str, cron: str, child: pulumi.ResourceOptions
    ) -> None:
        """Cloud Scheduler calls a scheduled route with the bearer token (a secret header)."""
        token = config.retry_token
        if token is None:
            return
        gcp.cloudscheduler.Job(
            name,
            project=config.gcp_project,
            region=config.region,
            schedule=cron,
            attempt_deadline="320s",
            http_target=gcp.cloudscheduler.JobHttpTargetArgs(
                uri=self.base_url.apply(lambda url: f"{url}{path}"),
                http_method="POST",
                headers=pulumi.Output.secret(
                    token.apply(lambda t: {"Authorization": f"Bearer {t}"})
                ),
            ),
            opts=child,
        )
