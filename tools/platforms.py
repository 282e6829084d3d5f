"""Requests as Lambda and the Azure Functions host hand them to our entry points.

Used by the conformance tests and by `scripts.serve`, which puts the real entry points behind a
local HTTP server for the three-cloud mesh. The AWS events start from the payloads AWS documents
(tests/events/aws/), so what the handler sees has the platform's shape.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

EVENTS = Path(__file__).resolve().parents[1] / "tests" / "events"


@functools.cache
def _template(name: str) -> Any:
    return json.loads((EVENTS / "aws" / f"{name}.json").read_text())


def lambda_event_v2(
    method: str, target: str, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    """A Function URL event (payload 2.0); bodies arrive base64-encoded, as binary ones do."""
    url = urlsplit(target)
    event = copy.deepcopy(_template("function_url_post_base64"))
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
    event = copy.deepcopy(_template("rest_v1_post_plain"))
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


def azure_request(method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
    """A `func.HttpRequest` as the Functions host builds it for a catch-all route."""
    import azure.functions as func

    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    return func.HttpRequest(
        method=method,
        url=f"https://lambda-func.azurewebsites.net{target}",
        headers=headers,
        params={k: v[-1] for k, v in query.items()},
        route_params={"path": unquote(url.path).lstrip("/")},
        body=body,
    )


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
