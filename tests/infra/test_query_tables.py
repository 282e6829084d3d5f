"""The compacted events as Athena and BigQuery tables: the resources and their settings under
mocks, and the templates the engines use, rendered and compared with the compactor's keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.core.compaction import PARQUET_SCHEMA
from functions.core.partitions import compacted_prefix
from stacks.query_tables import LOCATION_TEMPLATE, PARTITION_KEYS, render_location
from tests.infra.conftest import GCP_PROJECT_SET, Run
from tests.support.pulumi_mocks import run_program

FILE_COLUMNS = list(PARQUET_SCHEMA)


@pytest.mark.parametrize(
    "hour", [datetime(2026, 1, 2, 3, tzinfo=UTC), datetime(2026, 11, 24, 23, tzinfo=UTC)]
)
@pytest.mark.parametrize("source", ["github", "stripe-live", "a_b"])
def test_the_projection_template_names_exactly_the_compactors_folders(
    source: str, hour: datetime
) -> None:
    assert render_location(source, hour) == compacted_prefix(source, hour)


def test_the_athena_table_projects_every_partition_and_reads_parquet(aws_run: Run) -> None:
    mocks, _ = aws_run
    table = mocks.one("aws:glue/catalogTable:CatalogTable")
    params = table.inputs["parameters"]
    bucket = mocks.named("aws:s3/bucket:Bucket", "lambda-events").outputs["bucket"]
    assert params["projection.enabled"] == "true"
    assert params["storage.location.template"] == f"s3://{bucket}/{LOCATION_TEMPLATE}"
    assert params["projection.source.type"] == "injected"  # every query names its source
    assert (params["projection.year.range"], params["projection.year.digits"]) == ("2020,2100", "4")
    for key, (low, high) in {"month": (1, 12), "day": (1, 31), "hour": (0, 23)}.items():
        assert params[f"projection.{key}.type"] == "integer"
        assert params[f"projection.{key}.range"] == f"{low},{high}"
        assert params[f"projection.{key}.digits"] == "2"
    assert [k["name"] for k in table.inputs["partitionKeys"]] == list(PARTITION_KEYS)
    storage = table.inputs["storageDescriptor"]
    assert storage["location"] == f"s3://{bucket}/compacted/"
    assert storage["serDeInfo"]["serializationLibrary"].endswith("ParquetHiveSerDe")
    assert [(c["name"], c["type"]) for c in storage["columns"]] == [
        ("id", "string"),
        ("received_at", "timestamp"),
        ("origin", "string"),
        ("idempotency_key", "string"),
        ("headers", "string"),
        ("payload", "string"),
    ]


def test_the_athena_workgroup_enforces_its_results_and_a_scan_limit(aws_run: Run) -> None:
    mocks, result = aws_run
    workgroup = mocks.one("aws:athena/workgroup:Workgroup")
    config = workgroup.inputs["configuration"]
    results = mocks.named("aws:s3/bucket:Bucket", "lambda-athena-results").outputs["bucket"]
    assert config["enforceWorkgroupConfiguration"] is True
    assert config["bytesScannedCutoffPerQuery"] == 10240 * 1024 * 1024
    assert config["resultConfiguration"]["outputLocation"] == f"s3://{results}/"
    assert result["athena_workgroup"] == workgroup.inputs["name"]
    assert "GROUP BY hour" in result["query_example"]
    assert "bytes scanned" in result["query_cost_model"]


def test_a_reader_role_may_query_and_the_functions_role_gains_nothing(aws_run: Run) -> None:
    mocks, result = aws_run
    reader = mocks.named("aws:iam/role:Role", "lambda-query-reader")
    assert result["query_reader_role_arn"] == reader.outputs["arn"]
    policy = json.loads(
        mocks.named("aws:iam/rolePolicy:RolePolicy", "lambda-query-reader-policy").inputs["policy"]
    )
    events = mocks.named("aws:s3/bucket:Bucket", "lambda-events").outputs["arn"]
    reads = [s for s in policy["Statement"] if s["Action"] == ["s3:GetObject"]]
    assert reads == [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{events}/compacted/*"}
    ]
    function_policy = mocks.named("aws:iam/rolePolicy:RolePolicy", "lambda-policy").inputs["policy"]
    assert "athena" not in function_policy
    assert "glue" not in function_policy


def test_the_bigquery_table_is_external_hive_partitioned_and_needs_a_partition_filter() -> None:
    mocks, result = run_program(
        "gcp", {**GCP_PROJECT_SET, "lambda:queryReader": "group:analysts@example.com"}
    )
    table = mocks.one("gcp:bigquery/table:Table")
    external = table.inputs["externalDataConfiguration"]
    bucket = mocks.named("gcp:storage/bucket:Bucket", "lambda-events").outputs["name"]
    assert (external["sourceFormat"], external["autodetect"]) == ("PARQUET", False)
    assert external["sourceUris"] == [f"gs://{bucket}/compacted/*.parquet"]
    hive = external["hivePartitioningOptions"]
    assert hive["mode"] == "CUSTOM"
    assert hive["requirePartitionFilter"] is True
    assert hive["sourceUriPrefix"] == (
        f"gs://{bucket}/compacted/{{source:STRING}}/{{year:INTEGER}}/{{month:INTEGER}}/"
        "{day:INTEGER}/{hour:INTEGER}"
    )
    assert [c["name"] for c in json.loads(table.inputs["schema"])] == FILE_COLUMNS
    assert json.loads(table.inputs["schema"])[1]["type"] == "TIMESTAMP"
    viewer = mocks.one("gcp:bigquery/datasetIamMember:DatasetIamMember")
    assert (viewer.inputs["role"], viewer.inputs["member"]) == (
        "roles/bigquery.dataViewer",
        "group:analysts@example.com",
    )
    read = mocks.named("gcp:storage/bucketIAMMember:BucketIAMMember", "lambda-reader-compacted")
    assert f"buckets/{bucket}/objects/compacted/" in read.inputs["condition"]["expression"]
    assert "WHERE source = 'github' AND year = 2026" in result["query_example"]


def test_without_a_named_reader_no_one_new_is_granted(gcp_run: Run) -> None:
    mocks, _ = gcp_run
    assert mocks.of_type("gcp:bigquery/datasetIamMember:DatasetIamMember") == []


def test_azure_gives_the_synapse_query_over_the_files_in_place(azure_run: Run) -> None:
    mocks, result = azure_run
    account = mocks.one("azure-native:storage:StorageAccount").outputs["name"]
    assert f"https://{account}.blob.core.windows.net/" in result["query_example"]
    assert "OPENROWSET" in result["query_example"]
