"""The compacted events as tables in each cloud's pay-per-query engine: Athena over S3 (a Glue
table with partition projection) and BigQuery over GCS (an external table with hive
partitioning). No export, no copy, no crawler: the engines read the compactor's files where
they are. What both read is pinned in one place, beside the compactor's own schema. See
docs/query.md.
"""

from __future__ import annotations

from datetime import datetime

from functions.core.compaction import PARQUET_SCHEMA
from functions.core.partitions import COMPACTED_PREFIX

# The compactor's path, `compacted/source=S/year=YYYY/month=MM/day=DD/hour=HH/`, as Athena's
# projection template; tests render it and compare it with the compactor's own keys.
PARTITION_KEYS = ("source", "year", "month", "day", "hour")
LOCATION_TEMPLATE = (
    COMPACTED_PREFIX + "source=${source}/year=${year}/month=${month}/day=${day}/hour=${hour}/"
)
# Glue (Hive) and BigQuery types of the file's columns (PARQUET_SCHEMA's DuckDB types).
GLUE_TYPES = {"VARCHAR": "string", "TIMESTAMP WITH TIME ZONE": "timestamp"}
BIGQUERY_TYPES = {"VARCHAR": "STRING", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP"}
COST_MODEL = (
    "Billed by bytes scanned: a query reads only the partitions its WHERE clause names "
    "(source and date parts), and only the columns it selects."
)
LATE_NOTE = (
    "An hour that is not compacted yet (the current hour, the last five minutes after it, or "
    "one whose compaction has not run) has no file here and counts as empty; events arriving "
    "late into a compacted hour appear once the next compaction folds them in. GET /query "
    "reads those raw events too."
)


def glue_columns() -> list[tuple[str, str]]:
    return [(name, GLUE_TYPES[kind]) for name, kind in PARQUET_SCHEMA.items()]


def bigquery_schema() -> list[dict[str, str]]:
    return [
        {"name": name, "type": BIGQUERY_TYPES[kind], "mode": "NULLABLE"}
        for name, kind in PARQUET_SCHEMA.items()
    ]


def render_location(source: str, hour: datetime) -> str:
    """The template filled in as Athena's projection would for one partition."""
    values = {
        "source": source,
        "year": f"{hour:%Y}",
        "month": f"{hour:%m}",
        "day": f"{hour:%d}",
        "hour": f"{hour:%H}",
    }
    out = LOCATION_TEMPLATE
    for key, value in values.items():
        out = out.replace("${" + key + "}", value)
    return out


def projection_parameters(bucket: str) -> dict[str, str]:
    """Athena partition projection: partitions computed from the query, never listed or
    registered. `source` is injected (a query must name it, which also bounds its scan)."""
    return {
        "EXTERNAL": "TRUE",
        "classification": "parquet",
        "parquet.compression": "ZSTD",
        "projection.enabled": "true",
        "projection.source.type": "injected",
        "projection.year.type": "integer",
        "projection.year.range": "2020,2100",
        "projection.year.digits": "4",
        "projection.month.type": "integer",
        "projection.month.range": "1,12",
        "projection.month.digits": "2",
        "projection.day.type": "integer",
        "projection.day.range": "1,31",
        "projection.day.digits": "2",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "projection.hour.digits": "2",
        "storage.location.template": f"s3://{bucket}/{LOCATION_TEMPLATE}",
    }


def athena_example(database: str, table: str) -> str:
    return (
        f'SELECT hour, count(*) AS events FROM "{database}"."{table}" '
        "WHERE source = 'github' AND year = '2026' AND month = '11' AND day = '24' "
        "GROUP BY hour ORDER BY hour"
    )


def bigquery_example(project: str, dataset: str, table: str) -> str:
    return (
        f"SELECT hour, COUNT(*) AS events FROM `{project}.{dataset}.{table}` "
        "WHERE source = 'github' AND year = 2026 AND month = 11 AND day = 24 "
        "GROUP BY hour ORDER BY hour"
    )


def synapse_example(account: str, container: str) -> str:
    """Azure: Synapse serverless SQL reads the files in place with OPENROWSET (docs/query.md)."""
    return (
        "SELECT r.filepath(5) AS hour, COUNT(*) AS events FROM OPENROWSET(BULK "
        f"'https://{account}.blob.core.windows.net/{container}/compacted/source=github/"
        "year=2026/month=11/day=24/hour=*/*.parquet', FORMAT = 'PARQUET') AS r "
        "GROUP BY r.filepath(5) ORDER BY hour"
    )
