"""Writes each note of an SQS batch into the notes table."""

import json
import os
from typing import Any

import boto3


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    table = os.environ["NOTES_TABLE"]
    client = boto3.client("dynamodb")
    for record in event["Records"]:
        note = json.loads(record["body"])
        client.put_item(TableName=table, Item={"id": {"S": note["id"]}, "origin": {"S": note["origin"]}})
    return {"recorded": len(event["Records"])}
