"""One client shape over every entry point, so one conformance suite can drive them all.

HTTP entry points (the local server, the GCP function under functions-framework) are spoken to
over real sockets. Lambda and Azure Functions have no server we can run here, so their entry
points are called the way their runtimes call them: Lambda with events built from the stored
AWS payloads, Azure with `func.HttpRequest` objects built as the Functions host builds them.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.payloads import load_event

Answer = tuple[int, dict[str, str], Any]


class HttpEntryPoint:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                json.loads(data),
            )
        finally:
            conn.close()


class LambdaEntryPoint:
    """Builds Function URL (2.0) or REST API (1.0) events from the stored payloads."""

    def __init__(self, name: str, handler: Callable[[dict, Any], dict], payload: str) -> None:
        self.name, self.handler, self.payload = name, handler, payload

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        event = self._event_v2 if self.payload == "2.0" else self._event_v1
        result = self.handler(event(method, target, body, headers or {}), None)
        assert isinstance(result["body"], str)
        assert result["isBase64Encoded"] is False
        return result["statusCode"], dict(result["headers"]), json.loads(result["body"])

    @staticmethod
    def _event_v2(method: str, target: str, body: bytes, headers: dict[str, str]) -> dict:
        url = urlsplit(target)
        event = load_event("aws", "function_url_post_base64")
        event["rawPath"], event["rawQueryString"] = url.path, url.query
        event["requestContext"]["http"].update(method=method, path=unquote(url.path))
        event["headers"] = {k.lower(): v for k, v in headers.items()}
        # Function URLs base64-encode bodies that are not plain text; exercise that path.
        event["body"] = base64.b64encode(body).decode() if body else None
        event["isBase64Encoded"] = bool(body)
        return dict(event)

    @staticmethod
    def _event_v1(method: str, target: str, body: bytes, headers: dict[str, str]) -> dict:
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
        event["requestContext"].update(
            httpMethod=method, path=f"/{event['requestContext']['stage']}{url.path}"
        )
        return dict(event)


@functools.cache
def azure_function() -> Any:
    """The one function the v2 model registers (`get_functions` may be called once only)."""
    from functions.azure.function_app import app

    (function,) = app.get_functions()
    return function


class AzureEntryPoint:
    """Calls the registered function the way the Functions host does."""

    def __init__(self, name: str, function: Callable[[Any], Any]) -> None:
        self.name, self.function = name, function

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        import azure.functions as func

        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        req = func.HttpRequest(
            method=method,
            url=f"https://lambda-func.azurewebsites.net{target}",
            headers=headers or {},
            params={k: v[-1] for k, v in query.items()},
            route_params={"path": unquote(url.path).lstrip("/")},
            body=body,
        )
        response = self.function(req)
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            json.loads(response.get_body()),
        )
