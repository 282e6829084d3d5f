"""The same two routes as a Chalice app; Lambda calls `app` itself with the REST API events
Chalice deploys behind. make bench only."""

import json
import os
import time
import uuid

import boto3
from chalice import Chalice, Response

BUCKET = os.environ["LAMBDA_BUCKET"]
s3 = boto3.client("s3")
app = Chalice(app_name="bench")


@app.route("/health")
def health():
    return {"status": "ok"}


@app.route("/webhook/{source}", methods=["POST"])
def webhook(source):
    event_id = str(uuid.uuid4())
    key = f"events/source={source}/{event_id}.json"
    envelope = {"id": event_id, "source": source, "received": time.time()}
    envelope["payload"] = app.current_request.json_body
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(envelope), ContentType="application/json")
    return Response(body={"id": event_id, "key": key}, status_code=201)
