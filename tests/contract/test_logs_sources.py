"""`make logs`: each cloud's log source through its own client library. CloudWatch Logs against
moto's server; Cloud Logging and Azure Monitor Logs against fakes that answer what those REST
APIs answer (cited at each fake). Only the app's own JSON lines are shown, each once."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scripts import logs
from tools.processes import Server

# CloudWatch Logs refuses events over 14 days old or 2 hours ahead, moto too: an hour ago.
START = (datetime.now(UTC) - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
APP_LINE = {"level": "INFO", "message": "request", "route": "/webhook/{source}", "status": 201}

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def fake_api() -> Iterator[Callable[[Answer], tuple[str, list[tuple[str, dict[str, Any]]]]]]:
    """An HTTP server on 127.0.0.1 answering JSON POSTs with `answer(path, body)`; it records
    each request and enforces nothing (the client under test must send the right thing)."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        seen: list[tuple[str, dict[str, Any]]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                seen.append((self.path, body))
                out = json.dumps(answer(self.path, body)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def shown(source: logs.Source, since: datetime = START, **kwargs: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    logs.follow(source, since, out, **{"rounds": 1, **kwargs})
    return [json.loads(line) for line in out.getvalue().splitlines()]


# --- AWS: CloudWatch Logs, moto's server -------------------------------------------------


def test_aws_shows_the_functions_json_lines_from_its_log_group(moto: Server) -> None:
    import boto3

    client = boto3.client("logs", endpoint_url=moto.url, region_name="eu-west-1")
    group = f"/aws/lambda/lambda-{moto.port}"
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="s")
    at = int(START.timestamp() * 1000)
    messages = ["START RequestId: 1 Version: $LATEST", json.dumps(APP_LINE), "END RequestId: 1"]
    events = [{"timestamp": at + n, "message": m} for n, m in enumerate(messages)]
    client.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    # a line older than SINCE is not shown
    old = {"timestamp": at - 60_000, "message": json.dumps({"message": "old"})}
    client.create_log_stream(logGroupName=group, logStreamName="old")
    client.put_log_events(logGroupName=group, logStreamName="old", logEvents=[old])
    assert shown(logs.aws_source(client, group)) == [APP_LINE]


def test_aws_follow_shows_each_new_line_once(moto: Server) -> None:
    import boto3

    client = boto3.client("logs", endpoint_url=moto.url, region_name="eu-west-1")
    group = f"/aws/lambda/follow-{moto.port}"
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="s")
    at = int(START.timestamp() * 1000)
    put = [0]

    def write(n: int) -> None:
        event = {"timestamp": at + n * 1000, "message": json.dumps({"n": n})}
        client.put_log_events(logGroupName=group, logStreamName="s", logEvents=[event])

    write(0)

    def between_reads(_: float) -> None:  # the fake clock: a new line lands between two reads
        put[0] += 1
        write(put[0])

    lines = shown(logs.aws_source(client, group), rounds=3, sleep=between_reads)
    assert lines == [{"n": 0}, {"n": 1}, {"n": 2}]


# --- GCP: Cloud Logging entries.list --------------------------------------------------------
# https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list : POST
# /v2/entries:list {resourceNames, filter, orderBy, pageSize, pageToken} answers
# {"entries": [LogEntry], "nextPageToken"}; a LogEntry has timestamp (RFC 3339) and one of
# jsonPayload (the JSON line a Cloud Run service printed) or textPayload.


def gcp_entry(at: datetime, **payload: Any) -> dict[str, Any]:
    return {
        "logName": "projects/p/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": "lambda-http"}},
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "insertId": str(at.timestamp()),
        **payload,
    }


def test_gcp_reads_every_page_of_the_services_entries(fake_api: Any) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import logging as gcp_logging

    def answer(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("pageToken") == "page-2":
            return {"entries": [gcp_entry(START + timedelta(seconds=2), jsonPayload={"n": 2})]}
        first = [
            gcp_entry(START, textPayload="Default STARTUP TCP probe succeeded"),
            gcp_entry(START + timedelta(seconds=1), jsonPayload=APP_LINE),
        ]
        return {"entries": first, "nextPageToken": "page-2"}

    url, seen = fake_api(answer)
    client = gcp_logging.Client(
        project="p",
        credentials=AnonymousCredentials(),
        _use_grpc=False,
        client_options={"api_endpoint": url},
    )
    source = logs.gcp_source(client, "p", ["lambda-http", "lambda-jobs"])
    assert shown(source) == [APP_LINE, {"n": 2}]
    path, body = seen[0]
    assert path.startswith("/v2/entries:list")
    assert body["resourceNames"] == ["projects/p"]
    assert body["orderBy"] == "timestamp asc"
    assert body["filter"] == (
        'resource.type="cloud_run_revision" AND resource.labels.service_name=("lambda-http" OR '
        f'"lambda-jobs") AND timestamp>="{START:%Y-%m-%dT%H:%M:%S}.000000Z"'
    )


# --- Azure: Azure Monitor Logs, the Log Analytics query API ------------------------------
# https://learn.microsoft.com/rest/api/loganalytics/dataaccess/query/execute : POST
# /v1/workspaces/{workspaceId}/query {query, timespan} answers {"tables": [{name, columns:
# [{name, type}], rows: [[...]]}]}; datetime cells are ISO 8601 strings.


def test_azure_queries_the_workspace_for_app_traces(fake_api: Any) -> None:
    from azure.core.credentials import AccessToken
    from azure.monitor.query import LogsQueryClient

    class Credential:  # azure-core's TokenCredential protocol
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("token", 4102444800)

    rows = [
        [f"{START:%Y-%m-%dT%H:%M}:00.5Z", "Executing 'Functions.http' (Reason='This function')"],
        [f"{START:%Y-%m-%dT%H:%M}:01Z", json.dumps(APP_LINE)],
    ]
    table = {
        "name": "PrimaryResult",
        "columns": [
            {"name": "TimeGenerated", "type": "datetime"},
            {"name": "Message", "type": "string"},
        ],
        "rows": rows,
    }
    url, seen = fake_api(lambda path, body: {"tables": [table]})
    client = LogsQueryClient(Credential(), endpoint=url)
    # azure-core refuses a bearer token over plain HTTP; the fake has no TLS
    source = logs.azure_source(client, "ws-guid", enforce_https=False)
    assert shown(source) == [APP_LINE]
    path, body = seen[0]
    assert path == "/v1/workspaces/ws-guid/query"
    assert body["query"] == logs.AZURE_QUERY
    assert body["timespan"].startswith(f"{START:%Y-%m-%dT%H:%M:%S}")


# --- the command -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("30s", timedelta(seconds=30)),
        ("1d", timedelta(days=1)),
    ],
)
def test_since_takes_seconds_minutes_hours_or_days(text: str, delta: timedelta) -> None:
    assert logs.parse_since(text) == delta


def test_a_bad_since_is_refused_with_its_form() -> None:
    with pytest.raises(ValueError, match="SINCE=ten: give a number and s, m, h or d"):
        logs.parse_since("ten")


@pytest.mark.parametrize(
    "text", ["REPORT RequestId: 1 Duration: 2.1 ms", "{not json", "[1, 2]", ""]
)
def test_lines_that_are_not_the_apps_json_objects_are_left_out(text: str) -> None:
    assert logs.own_json(text) is None
