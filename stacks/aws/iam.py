"""AWS: the function's role and its least-privilege policy (its bucket, its log group, its
secret, nothing else). See docs/architecture.md (permissions)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

# Only what the app does to its bucket: put (conditional included), get, list, delete.
OBJECT_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
BUCKET_ACTIONS = ["s3:ListBucket"]

ASSUMED_BY_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def function_role(
    name: str,
    tags: dict[str, str],
    arns: tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]],
    child: pulumi.ResourceOptions,
) -> tuple[pulumi.Output[str], aws.iam.RolePolicy]:
    """The role's ARN and its policy, on the bucket, log group and secret `arns` name."""
    role = aws.iam.Role(
        f"{name}-role", assume_role_policy=json.dumps(ASSUMED_BY_LAMBDA), tags=tags, opts=child
    )
    document = pulumi.Output.all(*arns).apply(
        lambda a: json.dumps(least_privilege_policy(a[0], a[1], a[2]))
    )
    policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=document, opts=child)
    return role.arn, policy


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
