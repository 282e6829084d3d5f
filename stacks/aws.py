"""AWS: a private S3 bucket, a least-privilege role, the Lambda function and its public URL."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from stacks.app_env import function_environment
from stacks.args import FunctionArgs

# Only what the app does to its bucket: put (conditional included), get, list, delete.
OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
BUCKET_ACTIONS = ["s3:ListBucket"]


class AwsFunction(pulumi.ComponentResource):
    base_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lambda:aws:Function", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self.bucket = self._bucket(name, child)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{config.prefix}",
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        role = self._role(name, logs, child)
        self._role_arn, self._logs, self._args = role.arn, logs, args
        self.function = self._function(
            f"{name}-fn", config.prefix, "functions.aws.handler.handler", config.timeout_s
        )
        minutes = config.retry_schedule_minutes
        # The outbox's retries, and the hourly compaction of closed hours (ten past the hour).
        self._schedule(
            name,
            "retry",
            "functions.aws.handler.retry_outbox",
            f"rate({minutes} minute{'s' if minutes > 1 else ''})",
        )
        self._schedule(name, "compact", "functions.aws.handler.compact", "cron(10 * * * ? *)")
        self.url = aws.lambda_.FunctionUrl(
            f"{name}-url", function_name=self.function.name, authorization_type="NONE", opts=child
        )
        self._public_permissions(name, child)
        self.base_url = self.url.function_url.apply(lambda url: url.rstrip("/"))
        self.register_outputs({"base_url": self.base_url, "bucket": self.bucket.bucket})

    def _function(
        self, name: str, function_name: str, handler: str, timeout: int
    ) -> aws.lambda_.Function:
        config, archive = self._args.config, self._args.archive
        return aws.lambda_.Function(
            name,
            name=function_name,
            role=self._role_arn,
            runtime=f"python{config.python}",
            architectures=[config.arch],
            handler=handler,
            code=pulumi.FileArchive(str(archive.path)),
            source_code_hash=archive.sha256_base64,
            memory_size=config.memory_mb,
            timeout=timeout,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=function_environment(config, self.bucket.bucket, self._args.peer_urls)
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=self._logs.name
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._logs]),
        )

    def _schedule(self, name: str, task: str, handler: str, expression: str) -> None:
        """A scheduled task: an EventBridge rule invoking its own function on the same code and
        role, with an explicit handler (nothing sniffs the event to know what to do)."""
        child = pulumi.ResourceOptions(parent=self)
        prefix = self._args.config.prefix
        function = self._function(f"{name}-{task}", f"{prefix}-{task}", handler, 300)
        rule = aws.cloudwatch.EventRule(
            f"{name}-{task}-schedule", schedule_expression=expression, opts=child
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

    def _bucket(self, name: str, child: pulumi.ResourceOptions) -> aws.s3.Bucket:
        bucket = aws.s3.Bucket(f"{name}-events", force_destroy=False, opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-events-private",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-events-owner",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-events-sse",
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

    def _role(
        self, name: str, logs: aws.cloudwatch.LogGroup, child: pulumi.ResourceOptions
    ) -> aws.iam.Role:
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
            opts=child,
        )
        policy = pulumi.Output.all(self.bucket.arn, logs.arn).apply(
            lambda arns: json.dumps(least_privilege_policy(arns[0], arns[1]))
        )
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)
        return role

    def _public_permissions(self, name: str, child: pulumi.ResourceOptions) -> None:
        # A public Function URL needs both: InvokeFunctionUrl for auth type NONE, and (since
        # October 2025) InvokeFunction restricted to calls that come through the URL.
        aws.lambda_.Permission(
            f"{name}-url-invoke",
            action="lambda:InvokeFunctionUrl",
            function=self.function.name,
            principal="*",
            function_url_auth_type="NONE",
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-url-invoke-function",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="*",
            invoked_via_function_url=True,
            opts=child,
        )


def least_privilege_policy(bucket_arn: str, log_group_arn: str) -> dict[str, object]:
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
        ],
    }
