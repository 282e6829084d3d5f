"""The same two routes as a plain `azure.functions` v2 app, the blob client made at init.
make bench only."""

import json
import os
import time
import uuid

import azure.functions as func
from azure.storage.blob import BlobServiceClient

container = BlobServiceClient.from_connection_string(
    os.environ["LAMBDA_AZURE_CONNECTION_STRING"]
).get_container_client(os.environ["LAMBDA_BUCKET"])
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _answer(status, body):
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.function_name("http")
@app.route(route="{*path}", methods=["GET", "POST"])
def http(req: func.HttpRequest) -> func.HttpResponse:
    path = "/" + req.route_params.get("path", "")
    if req.method == "GET" and path == "/health":
        return _answer(200, {"status": "ok"})
    if req.method == "POST" and path.startswith("/webhook/"):
        source = path[len("/webhook/") :]
        event_id = str(uuid.uuid4())
        key = f"events/source={source}/{event_id}.json"
        envelope = {"id": event_id, "source": source, "received": time.time()}
        envelope["payload"] = req.get_json()
        container.upload_blob(key, json.dumps(envelope), overwrite=True)
        return _answer(201, {"id": event_id, "key": key})
    return _answer(404, {"error": "not found"})
