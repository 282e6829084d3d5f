"""One client shape over every entry point, so one conformance suite can drive them all.

HTTP entry points (the local server, the GCP function under functions-framework) are spoken to
over real sockets. Lambda and Azure Functions have no runtime we can run here, so their entry
points are called the way their runtimes call them (tools/platforms.py builds the requests).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

from tools.platforms import azure_request, lambda_event_v1, lambda_event_v2


def with_reader(headers: dict[str, str] | None) -> dict[str, str]:
    """Requests carry the test deployments' read token unless the test sets authorization."""
    from tests.support.client import READ_TOKEN

    given = headers or {}
    if any(k.lower() == "authorization" for k in given):
        return {k: v for k, v in given.items() if v}  # an empty value: send none at all
    return {"authorization": f"Bearer {READ_TOKEN}", **given}


Answer = tuple[int, dict[str, str], Any]


class HttpEntryPoint:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, target, body=body, headers=with_reader(headers))
            response = conn.getresponse()
            data = response.read()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                json.loads(data) if data else None,
            )
        finally:
            conn.close()


class LambdaEntryPoint:
    """Builds Function URL (2.0) or REST API (1.0) events from the stored payloads."""

    def __init__(self, name: str, handler: Callable[[dict, Any], dict], payload: str) -> None:
        self.name, self.handler = name, handler
        self.event = lambda_event_v2 if payload == "2.0" else lambda_event_v1

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        result = self.handler(self.event(method, target, body, with_reader(headers)), None)
        assert isinstance(result["body"], str)
        assert result["isBase64Encoded"] is False
        body = result["body"]
        return result["statusCode"], dict(result["headers"]), json.loads(body) if body else None


class AzureEntryPoint:
    """Calls the registered function the way the Functions host does."""

    def __init__(self, name: str, function: Callable[[Any], Any]) -> None:
        self.name, self.function = name, function

    def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        response = self.function(azure_request(method, target, body, with_reader(headers)))
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            json.loads(response.get_body()) if response.get_body() else None,
        )
