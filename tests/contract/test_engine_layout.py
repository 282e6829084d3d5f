"""The compacted files as Athena, BigQuery and Synapse list and read them: every file of a
multi-hour, multi-source fixture has the one schema the tables declare, nothing but data files
sits where an engine lists data (Hive/Athena and BigQuery's wildcard skip names that begin with
`_` or `.`, and the BigQuery table lists `*.parquet` only), timestamps are UTC Parquet
timestamps, and reading the whole tree with hive partitioning gives the rows /query gives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from functions.core.app import App
from functions.core.compaction import PARQUET_SCHEMA, Compactor
from functions.core.services import Services
from functions.core.settings import Settings
from functions.local.store import FileBlobStore
from tests.conftest import READ_TOKEN, CoreClient
from tests.support.fakes import FakeClock

START = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
SOURCES = ("orders", "refunds")


def fixture(root: Path) -> CoreClient:
    store, clock = FileBlobStore(root), FakeClock(START)
    client = CoreClient(
        App(Services(Settings(read_token=READ_TOKEN), "local", lambda: store, clock))
    )
    for n in range(60):  # four hours, two sources, payloads of varied shapes
        source = SOURCES[n % 2]
        payload = {"n": n, "amount": n * 1.5} if n % 3 else {"list": [n], "text": "caf\u00e9"}
        assert client.webhook(source, payload)[0] == 201
        clock.advance(minutes=3)
    clock.advance(days=1)
    Compactor(store, clock).run()
    return client


def test_every_compacted_file_has_the_declared_schema_and_utc_timestamps(tmp_path: Path) -> None:
    fixture(tmp_path)
    files = sorted((tmp_path / "compacted").rglob("*.parquet"))
    assert len(files) == 8  # 2 sources x 4 hours (06:30 to 09:27)
    con = duckdb.connect()
    for path in files:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)"
        ).fetchall()
        assert [(row[0], row[1]) for row in described] == list(PARQUET_SCHEMA.items()), path
        logical = dict(
            con.execute(f"SELECT name, logical_type FROM parquet_schema('{path}')").fetchall()
        )
        assert "isAdjustedToUTC=1" in str(logical["received_at"]), path


def test_nothing_but_data_files_sits_where_engines_list_data(tmp_path: Path) -> None:
    fixture(tmp_path)
    for path in (tmp_path / "compacted").rglob("*"):
        if path.is_file():
            assert path.suffix == ".parquet" or path.name.startswith(("_", ".")), path


def test_the_tree_read_with_hive_partitioning_gives_the_rows_query_gives(tmp_path: Path) -> None:
    client = fixture(tmp_path)
    tree = (
        duckdb.connect()
        .execute(
            f"SELECT source, year, month, day, hour, id, strftime(received_at, "
            f"'%Y-%m-%dT%H:%M:%S.%fZ'), payload FROM read_parquet("
            f"'{tmp_path}/compacted/**/*.parquet', hive_partitioning = true) ORDER BY id"
        )
        .fetchall()
    )
    for source in SOURCES:
        status, body, _ = client.request(
            "GET", "/query", query={"source": source, "date": "2026-11-23", "limit": "10000"}
        )
        assert status == 200
        expected = sorted((r["id"], r["received_at"]) for r in body["rows"])
        got = sorted((row[5], row[6]) for row in tree if row[0] == source)
        assert got == expected, source
    # The partition values come from the path, as the engines see them.
    for row in tree:
        stamp = datetime.fromisoformat(row[6].replace("Z", "+00:00"))
        assert (int(row[1]), int(row[2]), int(row[3]), int(row[4])) == (
            stamp.year,
            stamp.month,
            stamp.day,
            stamp.hour,
        )
    assert len(tree) == 60
