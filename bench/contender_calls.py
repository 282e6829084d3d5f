"""How each platform calls the app in bench/contenders.py's driver: per platform, code that
defines `call(method, path, body) -> status` and code that loads the app as TARGET. See
docs/benchmarks.md."""

from __future__ import annotations

# How each platform calls the app: `call(method, path, body) -> status`.
CALLS = {
    "lambda-url": """
def call(method, path, body):
    # A Function URL event (payload 2.0), as Lambda hands it over.
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json", "host": "x.lambda-url.aws"},
             "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                         "sourceIp": "127.0.0.1", "userAgent": "bench"},
                                "domainName": "x.lambda-url.aws", "requestId": "r",
                                "routeKey": "$default", "stage": "$default", "timeEpoch": 0},
             "body": body.decode(), "isBase64Encoded": False}
    return TARGET(event, None)["statusCode"]
""",
    "lambda-rest-chalice": """
def call(method, path, body):
    # A REST API event: API Gateway, which Chalice deploys, has matched the route already.
    resource, params = ("/health", None) if path == "/health" else (
        "/webhook/{source}", {"source": path.rsplit("/", 1)[1]})
    event = {"resource": resource, "path": path, "httpMethod": method,
             "headers": {"content-type": "application/json"}, "multiValueHeaders": None,
             "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": params, "stageVariables": None,
             "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": "api",
                                "path": "/api" + path, "requestId": "r"},
             "body": body.decode() or None, "isBase64Encoded": False}
    return TARGET(event, None)["statusCode"]
""",
    "azure": """
import azure.functions as func
steps["framework"] = cpu()
def call(method, path, body):
    request = func.HttpRequest(method, "https://x.azurewebsites.net" + path,
                               headers={"content-type": "application/json"},
                               route_params={"path": path.lstrip("/")}, body=body)
    return HTTP(request).status_code
""",
    "gcp": """
import io, sys
import functions_framework
steps["framework"] = cpu()
def call(method, path, body):
    # A WSGI request into the Flask app functions-framework builds (create_app), as gunicorn
    # hands it over (gunicorn/http/wsgi.py, `default_environ` and `create`).
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
               "QUERY_STRING": "", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1",
               "SERVER_NAME": "x.a.run.app", "SERVER_PORT": "443", "HTTP_HOST": "x.a.run.app",
               "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https", "wsgi.version": (1, 0),
               "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
               "wsgi.input_terminated": True, "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": str(len(body))}
    started = []
    chunks = TARGET(environ, lambda status, headers, exc_info=None: started.append(status))
    try:
        b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return int(started[0].split()[0])
""",
}
TARGETS = {
    "lambda-url": "from {entry} import handler as TARGET\n",
    "lambda-rest-chalice": "from {entry} import app as TARGET\n",
    "azure": (
        "from {entry} import app as _APP\n"
        "HTTP = {{f.get_function_name(): f for f in _APP.get_functions()}}['http']"
        ".get_user_function()\n"
    ),
    # The runtime's `functions-framework --target handle`: create_app loads the source file and
    # wraps the target in its Flask app (functions-framework-python v3.10.2,
    # src/functions_framework/__init__.py, `create_app` and `_http_view_func_wrapper`, which
    # calls the function with `flask.request`; _cli.py starts gunicorn on that app).
    "gcp": "TARGET = functions_framework.create_app('handle', ROOT + '/{entry}.py')\n",
}
DRIVER = """
import json, sys, time
sys.path[:0] = PATHS
cpu = lambda: time.process_time() * 1000
steps = {{}}
{call}{target}steps["import"] = cpu()
statuses = [call("GET", "/health", b"")]
steps["health"] = cpu()
statuses.append(call("POST", "/webhook/bench", b'{{"n": 1}}'))
steps["webhook"] = cpu()
for _ in range(WARM):
    statuses.append(call("POST", "/webhook/bench", b'{{"n": 2}}'))
warm = (cpu() - steps["webhook"]) / max(WARM, 1)
print(json.dumps({{"steps": steps, "statuses": sorted(set(statuses)), "warm_ms": warm}}))
"""
