"""The same two routes with AWS Lambda Powertools' `LambdaFunctionUrlResolver`, as its docs
write them. make bench only."""

import json
import os
import time
import uuid

import boto3
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response

BUCKET = os.environ["LAMBDA_BUCKET"]
s3 = boto3.client("s3")
app = LambdaFunctionUrlResolver()


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/webhook/<source>")
def webhook(source):
    event_id = str(uuid.uuid4())
    key = f"events/source={source}/{event_id}.json"
    envelope = {"id": event_id, "source": source, "received": time.time()}
    envelope["payload"] = app.current_event.json_body
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(envelope), ContentType="application/json")
    return Response(
        status_code=201,
        content_type="application/json",
        body=json.dumps({"id": event_id, "key": key}),
    )


def handler(event, context):
    return app.resolve(event, context)
