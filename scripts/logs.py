"""`make logs STACK=aws [FOLLOW=1] [SINCE=10m]`: the deployed function's own JSON log lines,
read through each cloud's client for its log service: CloudWatch Logs (boto3), Cloud Logging
(google-cloud-logging), Azure Monitor Logs (azure-monitor-query, the stack's Application
Insights workspace). See docs/deploying.md (logs).

    python -m scripts.logs --stack aws [--follow] [--since 10m]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from scripts.deploy import GCP_PROJECT_ENV, Pulumi, stop

POLL_S = 2.0  # how often --follow asks again, as `aws logs tail --follow` and `sam logs --tail`
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class Line(NamedTuple):
    at: datetime
    text: str


Source = Callable[[datetime], list[Line]]
"""The log lines stamped at or after a time, oldest first."""


def parse_since(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match:
        raise ValueError(f"SINCE={text}: give a number and s, m, h or d, e.g. 10m")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def own_json(text: str) -> str | None:
    """The app's own log lines are JSON objects (functions/core/logs.py); the platforms' own
    lines (Lambda's START/END/REPORT, the Functions host's) are not."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        return json.dumps(json.loads(text), separators=(",", ":"))
    except ValueError:
        return None


def aws_source(client: Any, group: str) -> Source:
    """CloudWatch Logs FilterLogEvents over the function's log group, page by page."""

    def read(since: datetime) -> list[Line]:
        lines: list[Line] = []
        ask: dict[str, Any] = {"logGroupName": group, "startTime": int(since.timestamp() * 1000)}
        while True:
            page = client.filter_log_events(**ask)
            for event in page.get("events", []):
                at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                lines.append(Line(at, event["message"]))
            if not page.get("nextToken"):
                return sorted(lines)
            ask["nextToken"] = page["nextToken"]

    return read


def gcp_filter(services: Iterable[str], since: datetime) -> str:
    """A Logging query language filter (cloud.google.com/logging/docs/view/logging-query-language):
    a 2nd-gen function runs as the Cloud Run service of its name."""
    names = " OR ".join(f'"{name}"' for name in services)
    stamp = since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f'resource.type="cloud_run_revision" AND resource.labels.service_name=({names}) '
        f'AND timestamp>="{stamp}"'
    )


def gcp_source(client: Any, project: str, services: Sequence[str]) -> Source:
    """Cloud Logging entries.list, oldest first. A JSON line on stdout becomes the entry's
    jsonPayload (a dict here); anything else its textPayload."""

    def read(since: datetime) -> list[Line]:
        entries = client.list_entries(
            resource_names=[f"projects/{project}"],
            filter_=gcp_filter(services, since),
            order_by="timestamp asc",
            page_size=1000,
        )
        return [
            Line(e.timestamp, json.dumps(e.payload) if isinstance(e.payload, dict) else e.payload)
            for e in entries
        ]

    return read


# Workspace-based Application Insights keeps the app's log lines in AppTraces
# (learn.microsoft.com/azure/azure-monitor/reference/tables/apptraces).
AZURE_QUERY = "AppTraces | project TimeGenerated, Message | order by TimeGenerated asc"


def azure_source(client: Any, workspace_id: str, **options: Any) -> Source:
    """Azure Monitor Logs: one KQL query over the stack's Log Analytics workspace."""

    def read(since: datetime) -> list[Line]:
        now = datetime.now(UTC)
        result = client.query_workspace(
            workspace_id, AZURE_QUERY, timespan=(since, max(now, since)), **options
        )
        if getattr(result, "partial_error", None):
            raise RuntimeError(f"Azure Monitor answered in part: {result.partial_error}")
        return [Line(row[0], row[1]) for table in result.tables for row in table.rows]

    return read


def printed(lines: Iterable[Line], out: Any) -> None:
    for line in lines:
        text = own_json(line.text)
        if text is not None:
            print(text, file=out, flush=True)


def follow(
    source: Source,
    since: datetime,
    out: Any = sys.stdout,
    rounds: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Print the app's lines from `since`, then read again every POLL_S (forever, or until
    `rounds` reads), printing only new ones. A read starts at the newest line's time, which the
    services include, so the lines already printed at that instant are skipped."""
    last, seen = since, set[Line]()
    while True:
        lines = [line for line in source(last) if line not in seen]
        printed(lines, out)
        if lines:
            newest = max(line.at for line in lines)
            kept = seen if newest == last else set()
            seen, last = kept | {line for line in lines if line.at == newest}, newest
        if rounds is not None:
            rounds -= 1
            if rounds <= 0:
                return
        sleep(POLL_S)


def stack_source(pulumi: Pulumi, environ: dict[str, str]) -> Source:
    """The stack's log source, from its outputs and config, with the cloud's own client."""
    outputs = pulumi.outputs()
    functions = outputs.get("functions") or {}
    if not isinstance(functions, dict) or not functions:
        stop(f"stack {pulumi.stack} has no functions output: run make deploy STACK={pulumi.stack}")
    if pulumi.stack == "aws":
        import boto3

        client = boto3.client("logs", region_name=pulumi.config("aws:region"))
        return aws_source(client, f"/aws/lambda/{functions['http']}")
    if pulumi.stack == "gcp":
        # Imported by name: google-cloud-logging is typed where google-cloud-storage is not,
        # and mypy, once it follows this import, no longer finds google.cloud.storage.
        gcp_logging: Any = importlib.import_module("google.cloud.logging")
        project = pulumi.config("gcp:project") or next(
            (environ[n] for n in GCP_PROJECT_ENV if environ.get(n)), ""
        )
        return gcp_source(gcp_logging.Client(project=project), project, list(functions.values()))
    workspace = str(outputs.get("log_workspace") or "")
    if not workspace:
        stop("stack azure has no log_workspace output: run make deploy STACK=azure again")
    from azure.identity import DefaultAzureCredential
    from azure.monitor.query import LogsQueryClient

    return azure_source(LogsQueryClient(DefaultAzureCredential()), workspace)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", required=True, choices=["aws", "gcp", "azure"])
    parser.add_argument("--follow", action="store_true")
    parser.add_argument("--since", default="10m")
    args = parser.parse_args(argv)
    try:
        since = datetime.now(UTC) - parse_since(args.since)
    except ValueError as exc:
        stop(str(exc))
    source = stack_source(Pulumi(args.stack, "logs"), dict(os.environ))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow
        follow(source, since, rounds=None if args.follow else 1)


if __name__ == "__main__":
    main()
