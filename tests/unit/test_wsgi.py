"""The WSGI translation the local server and Cloud Functions share, with environs as a WSGI
server builds them (werkzeug's EnvironBuilder) and a recording start_response."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from functions.core.http import Request, Response
from functions.wsgi import read_body, to_request, wsgi_app


def environ(**kwargs: Any) -> dict[str, Any]:
    return dict(EnvironBuilder(**kwargs).get_environ())


def test_a_request_keeps_method_path_headers_query_and_body() -> None:
    env = environ(
        method="post",
        path="/webhook/caf\u00e9",
        query_string="a=1&a=2&blank=",
        headers={"X-Thing": "1"},
        data=b'{"n": 1}',
        content_type="application/json",
    )
    request = to_request(env, b'{"n": 1}')
    assert (request.method, request.path) == ("POST", "/webhook/caf\u00e9")
    assert request.query == {"a": ("1", "2"), "blank": ("",)}
    assert request.header("x-thing") == "1"
    assert request.header("content-type") == "application/json"
    assert request.header("content-length") == "8"
    assert request.body == b'{"n": 1}'


def test_an_empty_path_is_the_root_and_an_absent_content_type_is_no_header() -> None:
    env = environ(method="GET", path="/")
    env["PATH_INFO"] = ""
    env.pop("CONTENT_TYPE", None)
    request = to_request(env, b"")
    assert request.path == "/"
    assert "content-type" not in request.headers


@pytest.mark.parametrize(
    ("length", "expected"),
    [("", b""), ("0", b""), ("-5", b""), ("ten", b""), ("3", b"abc"), ("100", b"abcdefghijk")],
)
def test_the_body_read_is_at_most_one_byte_over_the_limit(length: str, expected: bytes) -> None:
    env = {"CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(b"abcdefghijklmnopqrstuvwxyz")}
    assert read_body(env, limit=10) == expected


@pytest.mark.parametrize(
    ("status", "line"), [(201, "201 Created"), (413, "413 Payload Too Large"), (418, "418 Status")]
)
def test_the_status_line_carries_the_reason_and_the_length_is_the_bodys(
    status: int, line: str
) -> None:
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        return Response(status, b'{"ok": true}', {"content-type": "application/json"})

    started: list[tuple[str, list[tuple[str, str]]]] = []
    env = environ(method="POST", path="/x", data=b"0123456789abc", content_type="text/plain")
    body = wsgi_app(handle, limit=4)(env, lambda s, h: started.append((s, h)))
    assert list(body) == [b'{"ok": true}']
    assert started == [(line, [("content-type", "application/json"), ("content-length", "12")])]
    assert seen[0].body == b"01234"  # the limit plus one byte, for the core to answer 413
