"""Sends one note to the inbox queue per invocation, saying what invoked it (a schedule, or a direct call)."""

import json
import os
import uuid
from typing import Any

import boto3


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note = {"id": uuid.uuid4().hex, "origin": event.get("detail-type", "direct")}
    boto3.client("sqs").send_message(QueueUrl=os.environ["INBOX_URL"], MessageBody=json.dumps(note))
    return note
