"""Serve a cloud entry point over local HTTP, the way its platform would call it, and run its
schedule: `python -m scripts.serve aws|azure --port P [--schedule SECONDS]`.

Lambda and Azure Functions have no local runtime here; this puts *their real entry points*
(`functions.aws.handler.handler`, `function_app.http`) behind waitress, translating each HTTP
request into a Function URL event or a `func.HttpRequest`, and calls their scheduled entry points
(`retry_outbox`) on an interval, as EventBridge and the timer trigger would. The GCP member needs
none of this: functions-framework is its real local server.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from functions.wsgi import REASONS, environ_headers, read_body
from tools.platforms import (
    azure_functions,
    azure_request,
    azure_timer_request,
    eventbridge_scheduled_event,
    lambda_event_v2,
)

MAX_BODY = 64 * 1024 * 1024
Call = Callable[[str, str, bytes, dict[str, str]], tuple[int, dict[str, str], bytes]]


def aws_call() -> tuple[Call, Callable[[], Any]]:
    from functions.aws.handler import handler, retry_outbox

    def call(method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
        result = handler(lambda_event_v2(method, target, body, headers), None)
        return result["statusCode"], result["headers"], result["body"].encode()

    return call, lambda: retry_outbox(eventbridge_scheduled_event(), None)


def azure_call() -> tuple[Call, Callable[[], Any]]:
    functions = azure_functions()
    http = functions["http"].get_user_function()
    timer = functions["retry_outbox"].get_user_function()

    def call(method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
        response = http(azure_request(method, target, body, headers))
        return response.status_code, dict(response.headers), response.get_body()

    return call, lambda: timer(azure_timer_request())


def wsgi(call: Call) -> Callable[..., Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        target = quote(path) + (
            f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""
        )
        status, headers, body = call(
            environ["REQUEST_METHOD"],
            target,
            read_body(environ, MAX_BODY),
            environ_headers(environ),
        )
        # a HEAD answer carries the length GET would send (the core sets it); others, their own
        length = headers.pop("content-length", str(len(body)))
        start_response(
            f"{status} {REASONS.get(status, 'Status')}",
            [*headers.items(), ("content-length", length)],
        )
        return [body]

    return application


def schedule(tick: Callable[[], Any], interval: float) -> None:
    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                tick()
            except Exception as exc:  # a failed run is retried at the next tick
                print(json.dumps({"level": "ERROR", "message": f"scheduled run failed: {exc}"}))

    threading.Thread(target=loop, name="schedule", daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cloud", choices=["aws", "azure"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--schedule",
        type=float,
        default=0.0,
        help="seconds between scheduled outbox retries (0: none)",
    )
    args = parser.parse_args()
    call, tick = aws_call() if args.cloud == "aws" else azure_call()
    if args.schedule:
        schedule(tick, args.schedule)
    from waitress import serve

    serve(
        wsgi(call),
        host="127.0.0.1",
        port=args.port,
        threads=32,
        ident=args.cloud,
        max_request_body_size=MAX_BODY * 2,
    )


if __name__ == "__main__":
    main()
