"""The route table, declared once, and the router that matches requests against it (README,
routes; docs/architecture.md)."""

from __future__ import annotations

import re
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

    @property
    def pattern(self) -> re.Pattern[str]:
        # A parameter takes the whole rest of its segment *and beyond*, so that '/webhook/a/b'
        # reaches the handler and is refused as a bad source (400) rather than a vague 404.
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>.*)", self.template)
        return re.compile(regex)


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


class Router:
    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self._compiled = [(route, route.pattern) for route in routes]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route, pattern in self._compiled:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
            if route.method == "GET":
                allowed.append("HEAD")
        if allowed:
            raise MethodNotAllowed(f"{method} is not allowed on {path}", tuple(sorted(allowed)))
        raise RouteNotFound(f"no route for {path}")
