"""The route table, declared once, and the router that matches requests against it (README,
routes; docs/architecture.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from functions.core.errors import MethodNotAllowed, RouteNotFound
from functions.core.handlers import Handlers
from functions.core.http import Request, Response

Endpoint = Callable[[Handlers, Request, dict[str, str]], Response]


class Route(NamedTuple):
    method: str
    template: str
    endpoint: Endpoint

    def match(self, path: str) -> dict[str, str] | None:
        """The path's parameters, or None. A template ends in at most one parameter, which
        takes the whole rest of the path, so that '/webhook/a/b' reaches the handler and is
        refused as a bad source (400) rather than a vague 404. (Plain string work: compiling
        the table's regular expressions was most of a cold start's first `/health`.)"""
        prefix, name = split_template(self.template)
        if name is None:
            return {} if path == prefix else None
        return {name: path[len(prefix) :]} if path.startswith(prefix) else None


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", Handlers.health),
    Route("GET", "/peers", Handlers.peers),
    Route("POST", "/webhook/{source}", Handlers.webhook),
    Route("POST", "/internal/event", Handlers.internal_event),
    Route("GET", "/query", Handlers.query),
    Route("POST", "/internal/outbox/retry", Handlers.retry_outbox),
    Route("POST", "/internal/outbox/requeue", Handlers.requeue_dead),
    Route("POST", "/internal/compact", Handlers.compact),
    Route("POST", "/internal/reconcile", Handlers.reconcile),
    Route("POST", "/internal/replay", Handlers.replay),
    Route("GET", "/internal/digest", Handlers.digest),
    Route("GET", "/internal/ids", Handlers.ids),
    Route("GET", "/internal/events", Handlers.events),
)


@functools.cache
def split_template(template: str) -> tuple[str, str | None]:
    """A template's literal prefix and its parameter's name: a template is a path with at most
    one parameter, `{name}`, at its end."""
    prefix, brace, rest = template.partition("{")
    if brace and not (rest.endswith("}") and rest[:-1].isidentifier()):
        raise ValueError(f"route {template!r}: one parameter, `{{name}}`, at the end at most")
    if "}" in prefix:
        raise ValueError(f"route {template!r}: a '}}' without its '{{'")
    return prefix, rest[:-1] if brace else None


class Router:
    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self._routes = routes
        for route in routes:
            split_template(route.template)  # refuses a template it cannot match

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self._routes:
            found = route.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found
            allowed.append(route.method)
            if route.method == "GET":
                allowed.append("HEAD")
        if allowed:
            raise MethodNotAllowed(f"{method} is not allowed on {path}", tuple(sorted(allowed)))
        raise RouteNotFound(f"no route for {path}")
