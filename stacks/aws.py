"""AWS: a private S3 bucket, a least-privilege role, the Lambda function and its public URL.

The code is uploaded once, to a private artifacts bucket under its content-hashed key, and every
function points at it (`s3_bucket`/`s3_key`): Lambda's 50 MB limit on a direct upload never
applies, and three functions do not upload the same zip three times.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from functions.aws.secrets import SECRETS_ARN
from stacks.args import FunctionArgs
from stacks.aws_athena import athena

# Only what the app does to its bucket: put (conditional included), get, list, delete.
OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
BUCKET_ACTIONS = ["s3:ListBucket"]


class AwsFunction(pulumi.ComponentResource):
    base_url: pulumi.Output[str]
    outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:aws:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self._args = args
        # Stored events outlive the stack: `pulumi destroy` stops at this bucket (README).
        self.bucket = self._private_bucket(
            f"{name}-events", pulumi.ResourceOptions(parent=self, protect=True)
        )
        artifacts = self._private_bucket(f"{name}-artifacts", child)
        self.code = aws.s3.BucketObjectv2(
            f"{name}-code",
            bucket=artifacts.bucket,
            key=args.archive.object_name,
            source=pulumi.FileAsset(str(args.archive.path)),
            source_hash=args.archive.sha256,
            tags=config.tags,
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{config.prefix}",
            retention_in_days=config.log_retention_days,
            tags=config.tags,
            opts=child,
        )
        self._logs = logs
        self.secret, self._secret_value = self._secrets(name, child)
        self._role_arn, self._policy = self._role(name, logs, child)
        self.function = self._function(
            f"{name}-fn",
            config.prefix,
            "functions.aws.handler.handler",
            config.timeout_s,
            publish=config.min_instances > 0,
        )
        self.qualifier = self._warm(name, config.min_instances, child)
        minutes = config.retry_schedule_minutes
        # The outbox's retries, and the hourly compaction of closed hours (ten past the hour).
        retry = self._schedule(
            name,
            "retry",
            "functions.aws.handler.retry_outbox",
            f"rate({minutes} minute{'s' if minutes > 1 else ''})",
        )
        compact = self._schedule(
            name, "compact", "functions.aws.handler.compact", "cron(10 * * * ? *)"
        )
        results = self._private_bucket(f"{name}-athena-results", child)
        query = athena(name, config, self.bucket, results, child)
        self.url = aws.lambda_.FunctionUrl(
            f"{name}-url",
            function_name=self.function.name,
            qualifier=self.qualifier,
            authorization_type="NONE",
            opts=child,
        )
        self._public_permissions(name, child)
        self.base_url = self.url.function_url.apply(lambda url: url.rstrip("/"))
        self.outputs = {
            "bucket": self.bucket.bucket,
            "functions": {"http": self.function.name, "retry": retry.name, "compact": compact.name},
            "logs_url": logs.name.apply(lambda group: log_console_url(config.region, group)),
            **query,
        }
        self.register_outputs({"base_url": self.base_url, **self.outputs})

    def _function(
        self,
        name: str,
        function_name: str,
        handler: str,
        timeout: int,
        reserved: int | None = None,
        publish: bool = False,
    ) -> aws.lambda_.Function:
        config, archive = self._args.config, self._args.archive
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
            reserved_concurrent_executions=reserved,
            publish=publish or None,
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

    def _schedule(
        self, name: str, task: str, handler: str, expression: str
    ) -> aws.lambda_.Function:
        """A scheduled task: an EventBridge rule invoking its own function on the same code and
        role, with an explicit handler (nothing sniffs the event to know what to do). Reserved
        concurrency 1: a run that outlasts the interval throttles the next one (EventBridge
        retries it later) instead of running two over the same outbox or hour."""
        child = pulumi.ResourceOptions(parent=self)
        config = self._args.config
        function = self._function(
            f"{name}-{task}", f"{config.prefix}-{task}", handler, config.job_timeout_s, reserved=1
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-{task}-schedule",
            schedule_expression=expression,
            tags=config.tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{task}-target", rule=rule.name, arn=function.arn, opts=child
        )
        aws.lambda_.Permission(
            f"{name}-{task}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
        return function

    def _private_bucket(self, name: str, opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(name, force_destroy=False, tags=self._args.config.tags, opts=opts)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-private",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-owner",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        return bucket

    def _secrets(
        self, name: str, child: pulumi.ResourceOptions
    ) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
        """One Secrets Manager secret holds them all (a JSON object the function reads once per
        warm instance, functions/aws/secrets.py); the function's environment names it only."""
        secret = aws.secretsmanager.Secret(
            f"{name}-secrets",
            description=f"LAMBDA {self._args.config.stack}: peer keys, tokens, webhook rules",
            tags=self._args.config.tags,
            opts=child,
        )
        document: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.json_dumps(self._args.secrets())
        )
        value = aws.secretsmanager.SecretVersion(
            f"{name}-secrets-value",
            secret_id=secret.id,
            secret_string=document,
            opts=child,
        )
        return secret, value

    def _role(
        self, name: str, logs: aws.cloudwatch.LogGroup, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], aws.iam.RolePolicy]:
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=self._args.config.tags,
            opts=child,
        )
        document = pulumi.Output.all(self.bucket.arn, logs.arn, self.secret.arn).apply(
            lambda arns: json.dumps(least_privilege_policy(arns[0], arns[1], arns[2]))
        )
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=document, opts=child)
        return role.arn, policy

    def _warm(
        self, name: str, instances: int, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str] | None:
        """`lambda:minInstances` > 0: provisioned concurrency, which Lambda gives only to a
        published version behind an alias; the Function URL then serves that alias."""
        if not instances:
            return None
        alias = aws.lambda_.Alias(
            f"{name}-live",
            name="live",
            function_name=self.function.name,
            function_version=self.function.version,
            opts=child,
        )
        aws.lambda_.ProvisionedConcurrencyConfig(
            f"{name}-warm",
            function_name=self.function.name,
            qualifier=alias.name,
            provisioned_concurrent_executions=instances,
            opts=child,
        )
        qualifier: pulumi.Output[str] = alias.name
        return qualifier

    def _public_permissions(self, name: str, child: pulumi.ResourceOptions) -> None:
        # A public Function URL needs both: InvokeFunctionUrl for auth type NONE, and (since
        # October 2025) InvokeFunction restricted to calls that come through the URL.
        aws.lambda_.Permission(
            f"{name}-url-invoke",
            action="lambda:InvokeFunctionUrl",
            function=self.function.name,
            qualifier=self.qualifier,
            principal="*",
            function_url_auth_type="NONE",
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-url-invoke-function",
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=self.qualifier,
            principal="*",
            invoked_via_function_url=True,
            opts=child,
        )


def log_console_url(region: str, group: str) -> str:
    """The CloudWatch console page of the function's log group."""
    from urllib.parse import quote

    encoded = quote(quote(group, safe=""), safe="").replace("%", "$")
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{encoded}"
    )


def least_privilege_policy(
    bucket_arn: str, log_group_arn: str, secret_arn: str
) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": OBJECT_ACTIONS, "Resource": f"{bucket_arn}/*"},
            {"Effect": "Allow", "Action": BUCKET_ACTIONS, "Resource": bucket_arn},
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:*",
            },
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": secret_arn,
            },
        ],
    }
