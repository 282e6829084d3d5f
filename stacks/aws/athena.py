"""AWS: the compacted events as an Athena table (a Glue table with partition projection over
the events bucket's `compacted/` prefix), an Athena workgroup with its own results bucket,
enforced settings and a per-query scan limit, and a reader role to assume or attach. The
function's role gains nothing. See docs/query.md."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stacks.config import StackConfig
from stacks.query_tables import PARTITION_KEYS, athena_example, glue_columns, projection_parameters

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


@dataclass(frozen=True)
class AthenaQuery:
    """What a reader needs: the workgroup, the table, the role to assume, an example query."""

    workgroup: pulumi.Output[str]
    glue_table: pulumi.Output[str]
    reader_role_arn: pulumi.Output[str]
    example: pulumi.Output[str]


def athena(
    name: str,
    config: StackConfig,
    events: aws.s3.Bucket,
    results: aws.s3.Bucket,
    child: pulumi.ResourceOptions,
) -> AthenaQuery:
    database = aws.glue.CatalogDatabase(
        f"{name}-glue-db", name=config.prefix.replace("-", "_"), tags=config.tags, opts=child
    )
    table = _events_table(name, database, events, child)
    _expire_results(name, results, child)
    workgroup = _workgroup(name, config, results, child)
    reader = _reader_role(name, config, events, results, workgroup, database, table, child)
    return AthenaQuery(
        workgroup=workgroup.name,
        glue_table=pulumi.Output.concat(database.name, ".", table.name),
        reader_role_arn=reader.arn,
        example=database.name.apply(lambda db: athena_example(db, "events")),
    )


def _events_table(
    name: str,
    database: aws.glue.CatalogDatabase,
    events: aws.s3.Bucket,
    child: pulumi.ResourceOptions,
) -> aws.glue.CatalogTable:
    return aws.glue.CatalogTable(
        f"{name}-events-table",
        name="events",
        database_name=database.name,
        table_type="EXTERNAL_TABLE",
        parameters=events.bucket.apply(projection_parameters),
        partition_keys=[
            aws.glue.CatalogTablePartitionKeyArgs(name=key, type="string") for key in PARTITION_KEYS
        ],
        storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
            location=events.bucket.apply(lambda b: f"s3://{b}/compacted/"),
            input_format=PARQUET_INPUT,
            output_format=PARQUET_OUTPUT,
            ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                serialization_library=PARQUET_SERDE
            ),
            columns=[
                aws.glue.CatalogTableStorageDescriptorColumnArgs(name=col, type=kind)
                for col, kind in glue_columns()
            ],
        ),
        opts=child,
    )


def _expire_results(name: str, results: aws.s3.Bucket, child: pulumi.ResourceOptions) -> None:
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-athena-results-expiry",
        bucket=results.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-query-results",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=7),
            )
        ],
        opts=child,
    )


def _workgroup(
    name: str, config: StackConfig, results: aws.s3.Bucket, child: pulumi.ResourceOptions
) -> aws.athena.Workgroup:
    return aws.athena.Workgroup(
        f"{name}-athena",
        name=config.prefix,
        force_destroy=True,
        configuration=aws.athena.WorkgroupConfigurationArgs(
            enforce_workgroup_configuration=True,
            publish_cloudwatch_metrics_enabled=True,
            bytes_scanned_cutoff_per_query=config.athena_scan_limit_mb * 1024 * 1024,
            result_configuration=aws.athena.WorkgroupConfigurationResultConfigurationArgs(
                output_location=results.bucket.apply(lambda b: f"s3://{b}/"),
                encryption_configuration=aws.athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs(
                    encryption_option="SSE_S3"
                ),
            ),
        ),
        tags=config.tags,
        opts=child,
    )


def _reader_role(
    name: str,
    config: StackConfig,
    events: aws.s3.Bucket,
    results: aws.s3.Bucket,
    workgroup: aws.athena.Workgroup,
    database: aws.glue.CatalogDatabase,
    table: aws.glue.CatalogTable,
    child: pulumi.ResourceOptions,
) -> aws.iam.Role:
    """Assumable by any principal of this account that is itself allowed sts:AssumeRole on it
    (or attach its policy to your own role): Athena in this workgroup only, the table's Glue
    metadata, the compacted files (read), and the workgroup's results."""
    identity = aws.get_caller_identity_output()
    role = aws.iam.Role(
        f"{name}-query-reader",
        assume_role_policy=identity.account_id.apply(
            lambda account: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            )
        ),
        tags=config.tags,
        opts=child,
    )
    document = pulumi.Output.all(
        workgroup.arn, database.arn, table.arn, events.arn, results.arn, identity.account_id
    ).apply(lambda a: json.dumps(reader_policy(config.region, *a)))
    aws.iam.RolePolicy(f"{name}-query-reader-policy", role=role.id, policy=document, opts=child)
    return role


def reader_policy(
    region: str,
    workgroup_arn: str,
    database_arn: str,
    table_arn: str,
    events_arn: str,
    results_arn: str,
    account: str,
) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                "Resource": workgroup_arn,
            },
            {
                "Effect": "Allow",
                "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                "Resource": [
                    f"arn:aws:glue:{region}:{account}:catalog",
                    database_arn,
                    table_arn,
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"{events_arn}/compacted/*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": events_arn,
                "Condition": {"StringLike": {"s3:prefix": ["compacted/*"]}},
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [results_arn, f"{results_arn}/*"],
            },
        ],
    }
