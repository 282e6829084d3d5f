"""The bench calls a GCP function the way the runtime does: through the Flask app that
functions-framework's `create_app` builds around the target, with the `flask.Request` its view
passes (functions-framework-python, src/functions_framework/__init__.py)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import flask
import pytest

from bench.contender_calls import CALLS, TARGETS

PROBE = """
import flask
import functions_framework

SEEN = []

@functions_framework.http
def handle(request):
    SEEN.append((request, request.method, request.path, request.get_data()))
    assert request is flask.request._get_current_object()
    return "{}", 201 if request.method == "POST" else 200, {"content-type": "application/json"}
"""


@pytest.fixture
def driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The driver's GCP code run here: `call` and TARGET, over a probe function."""
    entry = f"probe_{uuid.uuid4().hex}"
    (tmp_path / f"{entry}.py").write_text(PROBE)
    # create_app appends the source's folder to sys.path, names the module in sys.modules and
    # sets FUNCTION_TARGET / FUNCTION_SIGNATURE_TYPE: each put back after the test.
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("FUNCTION_TARGET", "handle")
    monkeypatch.setenv("FUNCTION_SIGNATURE_TYPE", "http")
    scope: dict[str, Any] = {"steps": {}, "cpu": lambda: 0.0, "ROOT": str(tmp_path)}
    exec(CALLS["gcp"] + TARGETS["gcp"].format(entry=entry), scope)
    yield scope, sys.modules[entry]
    sys.modules.pop(entry, None)


def test_the_function_gets_the_frameworks_flask_request(driver: Any) -> None:
    scope, module = driver
    assert isinstance(scope["TARGET"], flask.Flask)
    assert scope["call"]("GET", "/health", b"") == 200
    assert scope["call"]("POST", "/webhook/bench", b'{"n": 1}') == 201
    assert all(isinstance(seen[0], flask.Request) for seen in module.SEEN)
    assert [s[1:] for s in module.SEEN] == [
        ("GET", "/health", b""),
        ("POST", "/webhook/bench", b'{"n": 1}'),
    ]
    assert module.SEEN[1][0].get_json() == {"n": 1}


def test_the_frameworks_own_routes_never_reach_the_function(driver: Any) -> None:
    scope, module = driver
    # functions-framework maps /robots.txt and /favicon.ico to a 404 of its own.
    assert scope["call"]("GET", "/robots.txt", b"") == 404
    assert module.SEEN == []
