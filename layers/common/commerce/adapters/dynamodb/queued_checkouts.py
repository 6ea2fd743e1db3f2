"""QUEUED checkouts whose reservation expired, found through their sparse GSI1 entries (see checkouts.py and
time_index.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from commerce.adapters.dynamodb import time_index
from commerce.adapters.dynamodb.checkouts import QUEUED_CHECKOUT_PARTITIONS
from commerce.adapters.dynamodb.client import dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDbQueuedCheckouts:
    """`QueuedCheckouts` over the commerce table's GSI1."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def expired_before(self, moment: datetime, limit: int) -> Sequence[str]:
        return time_index.ids_before(
            self.client, self.table_name, QUEUED_CHECKOUT_PARTITIONS, "checkoutId", moment, limit
        )
