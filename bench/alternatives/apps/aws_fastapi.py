"""The same two routes with FastAPI, served on Lambda by Mangum. make bench only."""

import json
import os
import time
import uuid
from typing import Any

import boto3
from fastapi import Body, FastAPI
from mangum import Mangum

BUCKET = os.environ["LAMBDA_BUCKET"]
s3 = boto3.client("s3")
api = FastAPI()


@api.get("/health")
def health():
    return {"status": "ok"}


@api.post("/webhook/{source}", status_code=201)
def webhook(source: str, payload: Any = Body(...)):  # noqa: B008 - FastAPI's own idiom
    event_id = str(uuid.uuid4())
    key = f"events/source={source}/{event_id}.json"
    envelope = {"id": event_id, "source": source, "received": time.time(), "payload": payload}
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(envelope), ContentType="application/json")
    return {"id": event_id, "key": key}


handler = Mangum(api, lifespan="off")
