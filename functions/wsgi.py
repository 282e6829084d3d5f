"""WSGI translation, shared by two adapters: the local server and Cloud Functions (whose Flask
request is a WSGI environ underneath). Not part of the core: the AWS and Azure archives leave
it out. It imports no server and no cloud SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from functions.core.http import Request, Response

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def environ_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def to_request(environ: dict[str, Any], body: bytes) -> Request:
    # PEP 3333 hands the decoded path over as latin-1 text; the bytes underneath are UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return Request(
        method=environ["REQUEST_METHOD"].upper(),
        path=path or "/",
        headers=environ_headers(environ),
        query={name: tuple(values) for name, values in query.items()},
        body=body,
    )


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Read at most `limit + 1` bytes: enough for the core to see an oversized body (413)
    without holding an arbitrarily large one in memory."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    data: bytes = environ["wsgi.input"].read(min(length, limit + 1))
    return data


def wsgi_app(handle: Callable[[Request], Response], limit: int) -> Callable[..., Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = handle(to_request(environ, read_body(environ, limit)))
        status = f"{response.status} {REASONS.get(response.status, 'Status')}"
        # A HEAD response carries the length GET would send (the core sets it); others, their own.
        length = response.headers.get("content-length", str(len(response.body)))
        headers = [*((k, v) for k, v in response.headers.items() if k != "content-length")]
        start_response(status, [*headers, ("content-length", length)])
        return [response.body]

    return application
