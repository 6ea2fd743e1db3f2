"""Sparse GSI1 entries that list items by a moment (an expiry, a decision time), spread over shards: the
upkeep's way to find its work without a scan (held reservations, QUEUED checkouts, closed payment intents;
keys.py lists them).

An entry is `GSI1PK = <prefix><shard 00..15>`, `GSI1SK = <moment, RFC 3339 UTC to the millisecond>#<id>`, so a
key range is a time range. Each shard is one Query whose range ends at the moment asked for, oldest first; the
work per run is split evenly over the shards, so a backlog in one cannot starve the others.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from commerce.domain.clock import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX_NAME = "GSI1"


def entry(partitions: Sequence[str], item_id: str, moment: datetime) -> dict[str, str]:
    """The GSI1 attributes that list `item_id` at `moment`, in the shard its id hashes to."""
    return {
        "GSI1PK": partitions[zlib.crc32(item_id.encode()) % len(partitions)],
        "GSI1SK": f"{rfc3339(moment)}#{item_id}",
    }


def ids_before(
    client: DynamoDBClient,
    table_name: str,
    partitions: Sequence[str],
    id_attribute: str,
    moment: datetime,
    limit: int,
) -> list[str]:
    """The `id_attribute` of about `limit` entries listed before `moment` at most, oldest first in each shard.
    The index lags behind the table: callers re-read each item."""
    per_shard = max(1, -(-limit // len(partitions)))  # ceiling division
    found: list[str] = []
    for partition in partitions:
        response = client.query(
            TableName=table_name,
            IndexName=INDEX_NAME,
            KeyConditionExpression="GSI1PK = :shard AND GSI1SK < :moment",
            ExpressionAttributeValues={":shard": {"S": partition}, ":moment": {"S": rfc3339(moment)}},
            ProjectionExpression=id_attribute,
            Limit=per_shard,
        )
        found.extend(item[id_attribute]["S"] for item in response.get("Items", []))
    return found
