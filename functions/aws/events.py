"""Named translations between Lambda's HTTP event payloads and the core's types.

The payload's own `version` field says which format it is (AWS documents it as the
discriminator); nothing here guesses which cloud it runs on.
"""

from __future__ import annotations

from typing import Any

from functions.core.http import Request, Response, normalize_headers

Event = dict[str, Any]


def _body(event: Event) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode()
    import base64  # only for base64 bodies: keeps /health's cold start small

    return base64.b64decode(body)


def _query(raw: str) -> dict[str, tuple[str, ...]]:
    if not raw:
        return {}
    from urllib.parse import parse_qs

    return {k: tuple(v) for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _unquote(path: str) -> str:
    if "%" not in path:
        return path
    from urllib.parse import unquote

    return unquote(path)


def _strip_stage(path: str, stage: str | None) -> str:
    # A *named* stage is the first path segment of what API Gateway hands us; the `$default`
    # stage (and Function URLs, whose stage is always `$default`) adds none.
    if stage and stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        return path[len(stage) + 1 :] or "/"
    return path


class PayloadV2:
    """Function URL and HTTP API events, payload format 2.0."""

    def to_request(self, event: Event) -> Request:
        context = event.get("requestContext") or {}
        # rawPath is the path as sent, still percent-encoded; the core expects it decoded.
        path = _strip_stage(_unquote(event.get("rawPath") or "/"), context.get("stage"))
        return Request(
            method=str(context.get("http", {}).get("method", "GET")).upper(),
            path=path,
            # 2.0 already joins repeated headers with commas.
            headers=normalize_headers(event.get("headers") or {}),
            query=_query(event.get("rawQueryString") or ""),
            body=_body(event),
        )

    def to_response(self, response: Response) -> Event:
        return {
            "statusCode": response.status,
            "headers": dict(response.headers),
            "body": response.body.decode(),
            "isBase64Encoded": False,
        }


class PayloadV1(PayloadV2):
    """REST API events (and HTTP APIs set to payload format 1.0)."""

    def to_request(self, event: Event) -> Request:
        context = event.get("requestContext") or {}
        # REST APIs leave the stage out of `path`; HTTP APIs on format 1.0 put a named stage in.
        path = _strip_stage(event.get("path") or "/", context.get("stage"))
        multi_headers = event.get("multiValueHeaders") or {}
        headers = (
            normalize_headers((k, v) for k, vs in multi_headers.items() for v in vs)
            if multi_headers
            else normalize_headers(event.get("headers") or {})
        )
        multi_query = event.get("multiValueQueryStringParameters") or {}
        single_query = event.get("queryStringParameters") or {}
        query = {k: tuple(v) for k, v in multi_query.items()} or {
            k: (v,) for k, v in single_query.items()
        }
        return Request(
            method=str(event.get("httpMethod", "GET")).upper(),
            path=path,
            headers=headers,
            query=query,
            body=_body(event),
        )


def translation_for(event: Event) -> PayloadV2:
    return PayloadV2() if event.get("version") == "2.0" else PayloadV1()
