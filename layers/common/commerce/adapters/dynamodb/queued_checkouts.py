"""QUEUED checkouts whose reservation expired, found through their sparse GSI1 entries (see checkouts.py).

Each shard is one Query: its key range ends at the moment asked for, oldest expiry first, so an upkeep
run reads only what it may act on. The work per run is split evenly over the shards, so that a backlog in
one shard cannot starve the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from commerce.adapters.dynamodb.checkouts import QUEUED_CHECKOUT_SHARDS, queued_checkouts_partition
from commerce.adapters.dynamodb.client import dynamodb_client
from commerce.domain.clock import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX_NAME = "GSI1"


class DynamoDbQueuedCheckouts:
    """`QueuedCheckouts` over the commerce table's GSI1."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def expired_before(self, moment: datetime, limit: int) -> Sequence[str]:
        per_shard = max(1, -(-limit // QUEUED_CHECKOUT_SHARDS))  # ceiling division
        found: list[str] = []
        for shard in range(QUEUED_CHECKOUT_SHARDS):
            response = self.client.query(
                TableName=self.table_name,
                IndexName=INDEX_NAME,
                KeyConditionExpression="GSI1PK = :shard AND GSI1SK < :moment",
                ExpressionAttributeValues={
                    ":shard": {"S": queued_checkouts_partition(shard)},
                    ":moment": {"S": rfc3339(moment)},
                },
                ProjectionExpression="checkoutId",
                Limit=per_shard,
            )
            found.extend(item["checkoutId"]["S"] for item in response.get("Items", []))
        return found
