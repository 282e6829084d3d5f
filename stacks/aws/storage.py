"""AWS: a private S3 bucket (public access blocked, owner-enforced, encrypted at rest).
See docs/architecture.md (storage)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def private_bucket(
    name: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    parent: pulumi.Resource,
    disposable: bool = False,
) -> aws.s3.Bucket:
    """`opts` for the bucket itself (its protection), its settings parented to `parent`.
    `disposable`: `pulumi destroy` empties it first (`force_destroy`), for objects that AWS
    writes and Pulumi never created (Athena's query results), which would otherwise stop the
    delete with `BucketNotEmpty`."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, force_destroy=disposable, tags=tags, opts=opts)
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
