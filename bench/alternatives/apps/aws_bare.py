"""The same two routes as a bare Lambda handler: `json` and boto3, nothing else, written the way
AWS's guides write one (the client made at init, outside the handler). make bench only."""

import base64
import json
import os
import time
import uuid

import boto3

BUCKET = os.environ["LAMBDA_BUCKET"]
s3 = boto3.client("s3")


def _answer(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    path = event["rawPath"]
    if method == "GET" and path == "/health":
        return _answer(200, {"status": "ok"})
    if method == "POST" and path.startswith("/webhook/"):
        source = path[len("/webhook/") :]
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        event_id = str(uuid.uuid4())
        key = f"events/source={source}/{event_id}.json"
        envelope = {"id": event_id, "source": source, "received": time.time()}
        envelope["payload"] = json.loads(body)
        s3.put_object(
            Bucket=BUCKET, Key=key, Body=json.dumps(envelope), ContentType="application/json"
        )
        return _answer(201, {"id": event_id, "key": key})
    return _answer(404, {"error": "not found"})
