"""AWS: the component. A private S3 bucket, a least-privilege role, the Lambda function and its
public URL, one function per scheduled job, and the Athena table. See docs/deploying.md.

The code is uploaded once, to a private artifacts bucket under its content-hashed key, and every
function points at it (`s3_bucket`/`s3_key`): Lambda's 50 MB limit on a direct upload never
applies, and three functions do not upload the same zip three times.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from functions.aws.secrets import SECRETS_ARN
from stacks.args import FunctionArgs
from stacks.aws.athena import AthenaQuery, athena
from stacks.aws.iam import function_role
from stacks.aws.storage import private_bucket
from stacks.jobs import Schedule, schedules
from stacks.outputs import StackOutputs


@dataclass(frozen=True, kw_only=True)
class AwsOutputs(StackOutputs):
    """The common outputs, and where to query the compacted events with Athena."""

    athena_workgroup: pulumi.Output[str]
    glue_table: pulumi.Output[str]
    query_reader_role_arn: pulumi.Output[str]


class AwsFunction(pulumi.ComponentResource):
    """The app on AWS, every resource parented to this component (`lambda:aws:Function`)."""

    outputs: AwsOutputs

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:aws:Function", name, None, opts)
        self._name, self._args, self._config = name, args, args.config
        self._child = pulumi.ResourceOptions(parent=self)
        # Stored events outlive the stack: `pulumi destroy` stops at this bucket
        # (docs/deploying.md).
        self.bucket = self._bucket("events", pulumi.ResourceOptions(parent=self, protect=True))
        self.code = self._code(self._bucket("artifacts", self._child))
        self._logs = self._log_group()
        self.secret, self._secret_value = self._secrets()
        self._role_arn, self._policy = function_role(
            name, self._config.tags, (self.bucket.arn, self._logs.arn, self.secret.arn), self._child
        )
        self.function = self._http_function()
        self.qualifier = self._live(self._config.min_instances, self._config.snap_start)
        jobs = {s.slug: self._schedule(s) for s in schedules(self._config)}
        results = self._bucket("athena-results", self._child, disposable=True)
        query = athena(name, self._config, self.bucket, results, self._child)
        self.url = self._public_url()
        self.outputs = self._outputs(jobs, query)
        self.register_outputs(self.outputs.as_dict())

    def _bucket(
        self, purpose: str, opts: pulumi.ResourceOptions, disposable: bool = False
    ) -> aws.s3.Bucket:
        return private_bucket(
            f"{self._name}-{purpose}", self._config.tags, opts, parent=self, disposable=disposable
        )

    def _code(self, artifacts: aws.s3.Bucket) -> aws.s3.BucketObjectv2:
        archive = self._args.archive
        return aws.s3.BucketObjectv2(
            f"{self._name}-code",
            bucket=artifacts.bucket,
            key=archive.object_name,
            source=pulumi.FileAsset(str(archive.path)),
            source_hash=archive.sha256,
            tags=self._config.tags,
            opts=self._child,
        )

    def _log_group(self) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-logs",
            name=f"/aws/lambda/{self._config.prefix}",
            retention_in_days=self._config.log_retention_days,
            tags=self._config.tags,
            opts=self._child,
        )

    def _secrets(self) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
        """One Secrets Manager secret holds them all (a JSON object the function reads once per
        warm instance, functions/aws/secrets.py); the function's environment names it only."""
        secret = aws.secretsmanager.Secret(
            f"{self._name}-secrets",
            description=f"LAMBDA {self._config.stack}: peer keys, tokens, webhook rules",
            tags=self._config.tags,
            opts=self._child,
        )
        document: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.json_dumps(self._args.secrets())
        )
        value = aws.secretsmanager.SecretVersion(
            f"{self._name}-secrets-value",
            secret_id=secret.id,
            secret_string=document,
            opts=self._child,
        )
        return secret, value

    def _http_function(self) -> aws.lambda_.Function:
        config = self._config
        return self._function(
            f"{self._name}-fn",
            config.prefix,
            "functions.aws.handler.handler",
            config.timeout_s,
            publish=config.min_instances > 0 or config.snap_start,
            snap_start=config.snap_start,
        )

    def _function(
        self,
        name: str,
        function_name: str,
        handler: str,
        timeout: int,
        publish: bool = False,
        snap_start: bool = False,
    ) -> aws.lambda_.Function:
        config, archive = self._config, self._args.archive
        return aws.lambda_.Function(
            name,
            name=function_name,
            role=self._role_arn,
            runtime=f"python{config.python}",
            architectures=[config.arch],
            handler=handler,
            s3_bucket=self.code.bucket,
            s3_key=self.code.key,
            source_code_hash=archive.sha256_base64,
            memory_size=config.memory_mb,
            timeout=timeout,
            publish=publish or None,
            # SnapStart snapshots each published version at publication (AWS: "Improving
            # startup performance with Lambda SnapStart"); $LATEST never runs from one.
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
            if snap_start
            else None,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    **self._args.environment(self.bucket.bucket),
                    SECRETS_ARN: self.secret.arn,
                }
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=self._logs.name
            ),
            tags=config.tags,
            # The role's policy is a separate resource: without this edge the function can be
            # created, and invoked, before IAM lets it write anything.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self._logs, self._policy, self._secret_value]
            ),
        )

    def _live(self, instances: int, snap_start: bool) -> pulumi.Output[str] | None:
        """`lambda:minInstances` > 0 (provisioned concurrency) and `lambda:snapStart` both run
        only on a published version: it goes behind a `live` alias the Function URL serves."""
        if not instances and not snap_start:
            return None
        alias = aws.lambda_.Alias(
            f"{self._name}-live",
            name="live",
            function_name=self.function.name,
            function_version=self.function.version,
            opts=self._child,
        )
        qualifier: pulumi.Output[str] = alias.name
        if not instances:
            return qualifier
        aws.lambda_.ProvisionedConcurrencyConfig(
            f"{self._name}-warm",
            function_name=self.function.name,
            qualifier=alias.name,
            provisioned_concurrent_executions=instances,
            opts=self._child,
        )
        return qualifier

    def _schedule(self, schedule: Schedule) -> aws.lambda_.Function:
        """A scheduled job: an EventBridge rule invoking its own function on the same code and
        role, with an explicit handler (nothing sniffs the event to know what to do). No
        reserved concurrency: a new account's quota is 10 and Lambda keeps 10 unreserved, so
        reserving any fails the create ("decreases account's UnreservedConcurrentExecution
        below its minimum value of [10]", Lambda's PutFunctionConcurrency). A run that finds
        the previous one still going exits at once on the job's lease in the bucket
        (functions/core/lease.py)."""
        name, config = f"{self._name}-{schedule.slug}", self._config
        function = self._function(
            name,
            f"{config.prefix}-{schedule.slug}",
            f"functions.aws.handler.{schedule.job.name}",
            config.job_timeout_s,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            schedule_expression=schedule.eventbridge(),
            tags=config.tags,
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target", rule=rule.name, arn=function.arn, opts=self._child
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=self._child,
        )
        return function

    def _public_url(self) -> aws.lambda_.FunctionUrl:
        url = aws.lambda_.FunctionUrl(
            f"{self._name}-url",
            function_name=self.function.name,
            qualifier=self.qualifier,
            authorization_type="NONE",
            opts=self._child,
        )
        # A public Function URL needs both: InvokeFunctionUrl for auth type NONE, and (since
        # October 2025) InvokeFunction restricted to calls that come through the URL.
        aws.lambda_.Permission(
            f"{self._name}-url-invoke",
            action="lambda:InvokeFunctionUrl",
            function=self.function.name,
            qualifier=self.qualifier,
            principal="*",
            function_url_auth_type="NONE",
            opts=self._child,
        )
        aws.lambda_.Permission(
            f"{self._name}-url-invoke-function",
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=self.qualifier,
            principal="*",
            invoked_via_function_url=True,
            opts=self._child,
        )
        return url

    def _outputs(self, jobs: dict[str, aws.lambda_.Function], query: AthenaQuery) -> AwsOutputs:
        region = self._config.region
        return AwsOutputs(
            base_url=self.url.function_url.apply(lambda url: url.rstrip("/")),
            bucket=self.bucket.bucket,
            functions={"http": self.function.name, **{k: f.name for k, f in jobs.items()}},
            logs_url=self._logs.name.apply(lambda group: log_console_url(region, group)),
            query_example=query.example,
            athena_workgroup=query.workgroup,
            glue_table=query.glue_table,
            query_reader_role_arn=query.reader_role_arn,
        )


def log_console_url(region: str, group: str) -> str:
    """The CloudWatch console page of the function's log group."""
    encoded = quote(quote(group, safe=""), safe="").replace("%", "$")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{encoded}"
    )
