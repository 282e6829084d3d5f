"""Requests and scheduled events as Lambda, functions-framework and the Azure Functions host
hand them to our entry points.

Used by the tests and by `scripts.serve`, which puts the real entry points behind a local HTTP
server for the three-cloud mesh. Each starts from a payload the platform documents or its own
runtime's tests use (tests/events/, sources in its README), so what an entry point sees has the
platform's shape; the Azure objects are decoded by the library's own converters, as the Python
worker decodes them.
"""

from __future__ import annotations

import base64
import functools
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tools.payloads import load_event


def lambda_event_v2(
    method: str, target: str, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    """A Function URL event (payload 2.0); bodies arrive base64-encoded, as binary ones do."""
    url = urlsplit(target)
    event = load_event("aws", "function_url_post_base64")
    event["rawPath"], event["rawQueryString"] = url.path, url.query
    event["requestContext"]["http"].update(method=method, path=unquote(url.path))
    event["headers"] = {k.lower(): v for k, v in headers.items()}
    event["body"] = base64.b64encode(body).decode() if body else None
    event["isBase64Encoded"] = bool(body)
    return dict(event)


def lambda_event_v1(
    method: str, target: str, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    """A REST API event (payload 1.0) with multi-value headers and query strings."""
    url = urlsplit(target)
    event = load_event("aws", "rest_v1_post_plain")
    query = parse_qs(url.query, keep_blank_values=True)
    event.update(
        path=unquote(url.path),
        httpMethod=method,
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters={k: v[-1] for k, v in query.items()} or None,
        multiValueQueryStringParameters=query or None,
    )
    try:
        event.update(body=body.decode() if body else None, isBase64Encoded=False)
    except UnicodeDecodeError:  # as with a binary media type configured on the API
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    context = event["requestContext"]
    context.update(httpMethod=method, path=f"/{context['stage']}{url.path}")
    return dict(event)


def eventbridge_scheduled_event() -> dict[str, Any]:
    """The event an EventBridge schedule rule invokes a Lambda function with."""
    event: dict[str, Any] = load_event("aws", "eventbridge_scheduled")
    return event


def azure_request(method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
    """A `func.HttpRequest` as the Functions host and worker build it for a catch-all route."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    stored = load_event("azure", "http_post_webhook")
    host = urlsplit(stored["url"]).netloc
    return azure_http_request(
        {
            "method": method,
            "url": f"https://{host}{target}",
            "headers": headers,
            "query": {k: v[-1] for k, v in query.items()},
            "params": {"path": unquote(url.path).lstrip("/")},
            "body": body,
        }
    )


def azure_http_request(stored: Mapping[str, Any]) -> Any:
    """A stored HTTP trigger request (tests/events/azure/), decoded by the library's own
    `HttpRequestConverter` from the fields the host sends, as the Python worker decodes it."""
    from azure.functions.http import HttpRequestConverter
    from azure.functions.meta import Datum

    def datum(value: Any) -> Datum:
        return Datum(value, "bytes" if isinstance(value, bytes) else "string")

    fields = {
        "method": datum(stored["method"]),
        "url": datum(stored["url"]),
        "headers": {k: datum(v) for k, v in stored["headers"].items()},
        "query": {k: datum(v) for k, v in stored["query"].items()},
        "params": {k: datum(v) for k, v in stored["params"].items()},
        "body": datum(stored["body"]),
    }
    return HttpRequestConverter.decode(Datum(fields, "http"), trigger_metadata={})


def azure_timer_request(payload: Mapping[str, Any] | None = None) -> Any:
    """A `func.TimerRequest`, decoded by the library's own `TimerRequestConverter` from the
    JSON the host passes for a timer trigger (tests/events/azure/timer.json by default)."""
    from azure.functions.meta import Datum
    from azure.functions.timer import TimerRequestConverter

    value = json.dumps(payload if payload is not None else load_event("azure", "timer"))
    return TimerRequestConverter.decode(Datum(value, "json"), trigger_metadata={})


def gcp_request(stored: Mapping[str, Any]) -> Any:
    """A stored request (tests/events/gcp/) as functions-framework hands it to the function: a
    Flask request over the WSGI environ its server builds."""
    import flask
    from werkzeug.test import EnvironBuilder

    headers = dict(stored["headers"])
    host = next(v for k, v in headers.items() if k.lower() == "host")
    body = stored["body"].encode()
    environ = EnvironBuilder(
        method=stored["method"],
        path=stored["path"],
        query_string=stored["query"],
        base_url=f"https://{host}",
        headers=headers,
        data=body,
        content_length=len(body),  # as the server sets it, "0" included
    ).get_environ()
    return flask.Request(environ)


def gcp_framework_argv(port: int) -> list[str]:
    """Google's functions-framework serving the GCP entry point: its real local runtime."""
    framework = Path(sys.executable).parent / "functions-framework"
    return [
        str(framework),
        "--target",
        "handle",
        "--source",
        "functions/gcp/main.py",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@functools.cache
def azure_functions() -> dict[str, Any]:
    """The registered functions by name (the v2 model lets `get_functions` run only once)."""
    from functions.azure.function_app import app

    return {str(fn.get_function_name()): fn for fn in app.get_functions()}
