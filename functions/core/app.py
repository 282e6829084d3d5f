"""The app: one `handle(request) -> Response` that every adapter calls (docs/architecture.md)."""

from __future__ import annotations

import os
import time

from functions.core.errors import AppError, MethodNotAllowed, StorageError
from functions.core.events import trace_id_of
from functions.core.handlers import Handlers
from functions.core.http import Request, Response, json_response
from functions.core.jobs import Jobs
from functions.core.routes import Router
from functions.core.services import Services


def error_response(error: AppError, request_id: str) -> Response:
    """The one JSON error shape, for every error the client may see."""
    message = "storage is unavailable" if isinstance(error, StorageError) else error.message
    if type(error) is AppError:
        message = "internal error"
    headers = {"allow": ", ".join(error.allow)} if isinstance(error, MethodNotAllowed) else {}
    body = {"error": {"code": error.code, "message": message, "request_id": request_id}}
    return json_response(error.status, body, headers)


class App:
    """Matches a request to its route, runs the handler, maps errors to the one JSON shape and
    logs one line per request. The services come built from `Services` (the composition
    root); the jobs, for the schedules, are `app.jobs`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.log = services.log
        self.jobs = Jobs(services)
        self.handlers = Handlers(services, self.jobs)
        self.router = Router()

    def handle(self, request: Request) -> Response:
        request_id = os.urandom(16).hex()
        started = time.perf_counter()
        route_name = "-"
        # HEAD is GET without the body (RFC 9110 9.3.2): uptime checkers use it.
        head = request.method == "HEAD"
        try:
            route, params = self.router.match("GET" if head else request.method, request.path)
            route_name = route.template
            response = route.endpoint(self.handlers, request, params)
        except AppError as error:
            if error.status >= 500:
                self.log.error(error.message, extra={"fields": {"request_id": request_id}})
            response = error_response(error, request_id)
        except Exception:
            self.log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            response = error_response(AppError("internal error"), request_id)
        self._log_request(request, route_name, response, request_id, started)
        headers = {**response.headers, "x-request-id": request_id}
        if head:  # the length GET would send (RFC 9110 9.3.2, 8.6), not the empty body's 0
            return Response(
                response.status, b"", {**headers, "content-length": str(len(response.body))}
            )
        return Response(response.status, response.body, headers)

    def _log_request(
        self, request: Request, route: str, response: Response, request_id: str, started: float
    ) -> None:
        fields = {
            "request_id": request_id,
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        trace = trace_id_of(response.headers.get("traceresponse") or request.header("traceparent"))
        if trace is not None:  # one event followed through every member's logs by its trace id
            fields["trace_id"] = trace
        self.log.info("request", extra={"fields": fields})
