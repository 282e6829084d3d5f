"""Translations between `azure.functions.HttpRequest`/`HttpResponse` and the core's types
(docs/architecture.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from functions.core.http import Request, Response, normalize_headers


def to_request(req: Any) -> Request:
    # The host hands over the full URL, percent-encoded; `params` would lose repeated keys.
    url = urlsplit(req.url)
    query = parse_qs(url.query, keep_blank_values=True)
    return Request(
        method=req.method.upper(),
        path=unquote(url.path) or "/",
        headers=normalize_headers(req.headers.items()),
        query={k: tuple(v) for k, v in query.items()},
        body=req.get_body() or b"",
    )


def to_response(response: Response) -> Any:
    import azure.functions as func

    # content-type goes in the headers *and* as the mimetype, which the worker otherwise
    # defaults to text/plain.
    return func.HttpResponse(
        body=response.body,
        status_code=response.status,
        headers=dict(response.headers),
        mimetype="application/json",
        charset="utf-8",
    )
