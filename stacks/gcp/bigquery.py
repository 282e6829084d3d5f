"""GCP: the compacted events as a BigQuery external table over the events bucket: hive
partitioning with typed keys, a partition filter required on every query, in a dataset this
stack creates. A principal the user names (`lambda:queryReader`) may read it: the dataset, jobs
in the project, and the compacted objects only (BigQuery reads GCS with the caller's access).
See docs/query.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig
from stacks.query_tables import bigquery_example, bigquery_schema

PARTITIONS = "{source:STRING}/{year:INTEGER}/{month:INTEGER}/{day:INTEGER}/{hour:INTEGER}"
COMPACTED_ONLY = 'resource.name.startsWith("projects/_/buckets/{bucket}/objects/compacted/")'


@dataclass(frozen=True)
class BigQueryTable:
    """What a reader needs: the table (`dataset.table`) and an example query."""

    table: pulumi.Output[str]
    example: pulumi.Output[str]


def bigquery(
    name: str,
    config: StackConfig,
    events: gcp.storage.Bucket,
    opts: pulumi.ResourceOptions,
) -> BigQueryTable:
    dataset = gcp.bigquery.Dataset(
        f"{name}-dataset",
        dataset_id=config.prefix.replace("-", "_"),
        project=config.gcp_project,
        location=config.region,
        labels=config.tags,
        opts=opts,
    )
    table = _events_table(name, config, dataset, events, opts)
    if config.query_reader:
        _grant_reader(name, config, config.query_reader, dataset, events, opts)
    return BigQueryTable(
        table=pulumi.Output.concat(dataset.dataset_id, ".", table.table_id),
        example=dataset.dataset_id.apply(
            lambda d: bigquery_example(config.gcp_project or "", d, "events")
        ),
    )


def _events_table(
    name: str,
    config: StackConfig,
    dataset: gcp.bigquery.Dataset,
    events: gcp.storage.Bucket,
    opts: pulumi.ResourceOptions,
) -> gcp.bigquery.Table:
    return gcp.bigquery.Table(
        f"{name}-events-table",
        dataset_id=dataset.dataset_id,
        table_id="events",
        project=config.gcp_project,
        deletion_protection=False,  # the data is the bucket's; the table is a definition
        schema=json.dumps(bigquery_schema()),
        external_data_configuration=gcp.bigquery.TableExternalDataConfigurationArgs(
            autodetect=False,
            source_format="PARQUET",
            # Data files only: `*.parquet` leaves the manifests out whatever their names.
            source_uris=[events.name.apply(lambda b: f"gs://{b}/compacted/*.parquet")],
            hive_partitioning_options=gcp.bigquery.TableExternalDataConfigurationHivePartitioningOptionsArgs(
                mode="CUSTOM",
                source_uri_prefix=events.name.apply(lambda b: f"gs://{b}/compacted/{PARTITIONS}"),
                require_partition_filter=True,
            ),
        ),
        labels=config.tags,
        opts=opts,
    )


def _grant_reader(
    name: str,
    config: StackConfig,
    member: str,
    dataset: gcp.bigquery.Dataset,
    events: gcp.storage.Bucket,
    opts: pulumi.ResourceOptions,
) -> Sequence[pulumi.Resource]:
    return [
        gcp.bigquery.DatasetIamMember(
            f"{name}-reader-dataset",
            dataset_id=dataset.dataset_id,
            project=config.gcp_project,
            role="roles/bigquery.dataViewer",
            member=member,
            opts=opts,
        ),
        gcp.projects.IAMMember(
            f"{name}-reader-jobs",
            project=config.gcp_project,
            role="roles/bigquery.jobUser",
            member=member,
            opts=opts,
        ),
        gcp.storage.BucketIAMMember(
            f"{name}-reader-compacted",
            bucket=events.name,
            role="roles/storage.objectViewer",
            member=member,
            condition=gcp.storage.BucketIAMMemberConditionArgs(
                title="compacted files only",
                expression=events.name.apply(lambda b: COMPACTED_ONLY.format(bucket=b)),
            ),
            opts=opts,
        ),
    ]
