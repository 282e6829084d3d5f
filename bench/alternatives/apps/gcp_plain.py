"""The same two routes as a plain `functions-framework` HTTP function, the storage client made
at init, as Google's samples write one (deployed with entry point `handle`). make bench only."""

import json
import os
import time
import uuid

import functions_framework
from google.cloud import storage

bucket = storage.Client().bucket(os.environ["LAMBDA_BUCKET"])


def _answer(status, body):
    return json.dumps(body), status, {"content-type": "application/json"}


@functions_framework.http
def handle(request):
    if request.method == "GET" and request.path == "/health":
        return _answer(200, {"status": "ok"})
    if request.method == "POST" and request.path.startswith("/webhook/"):
        source = request.path[len("/webhook/") :]
        event_id = str(uuid.uuid4())
        key = f"events/source={source}/{event_id}.json"
        envelope = {"id": event_id, "source": source, "received": time.time()}
        envelope["payload"] = request.get_json()
        bucket.blob(key).upload_from_string(json.dumps(envelope), content_type="application/json")
        return _answer(201, {"id": event_id, "key": key})
    return _answer(404, {"error": "not found"})
