"""`CheckoutScan` over GSI3 of the commerce table: the walk over checkouts by creation time that finds open
checkouts nothing else lists (commerce.domain.checkout.reconcile).

Every checkout is in GSI3 (CHECKOUTS#<shard 0..7>, <createdAt>#<id>, projecting its status). A page is one
ascending Query per shard from where that shard's walk stopped up to `created_before`, at most `limit / 8`
items read per shard, with a FilterExpression keeping only open statuses (DynamoDB reads the rest and
reports how far it got: LastEvaluatedKey). So each run reads a bounded number of index items, and each
checkout is read once over all runs. The position per shard, and the ids whose repair failed, live in the
state item RECONCILE / CHECKOUT_SCAN (keys.py), written only once the page is handled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import CHECKOUT_LISTING_SHARDS, checkout_listing_partition, checkout_scan_key
from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.checkout.reconcile import ScanPage
from commerce.domain.sessions.models import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX_NAME = "GSI3"
_LOWEST = "0"  # below every RFC 3339 sort key: a shard not walked yet starts there
_OPEN = (CheckoutStatus.PROCESSING.value, CheckoutStatus.AWAITING_PAYMENT.value)


class DynamoDbCheckoutScan:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def next_page(self, created_before: datetime, limit: int) -> ScanPage:
        state = self._state()
        after: dict[str, str] = dict(state.get("after") or {})
        per_shard = max(1, -(-limit // CHECKOUT_LISTING_SHARDS))  # ceiling division
        found: list[str] = [str(checkout_id) for checkout_id in state.get("retry") or []]
        end = rfc3339(created_before)
        for shard in range(CHECKOUT_LISTING_SHARDS):
            start = after.get(str(shard), _LOWEST)
            if start >= end:
                continue
            response = self.client.query(
                TableName=self.table_name,
                IndexName=INDEX_NAME,
                KeyConditionExpression="GSI3PK = :shard AND GSI3SK BETWEEN :start AND :end",
                FilterExpression="#status IN (:processing, :awaiting)",
                ProjectionExpression="checkoutId, GSI3SK",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attrs(
                    {
                        ":shard": checkout_listing_partition(shard),
                        ":start": start,
                        ":end": end,
                        ":processing": _OPEN[0],
                        ":awaiting": _OPEN[1],
                    }
                ),
                Limit=per_shard,
            )
            items = [from_attrs(item) for item in response.get("Items", [])]
            # BETWEEN includes its start, which the previous page examined already.
            found += [str(item["checkoutId"]) for item in items if item["GSI3SK"] != start]
            last = response.get("LastEvaluatedKey")
            after[str(shard)] = str(from_attrs(last)["GSI3SK"]) if last else end
        return ScanPage(list(dict.fromkeys(found)), json.dumps(after, sort_keys=True))

    def save(self, page: ScanPage, failed: Sequence[str]) -> None:
        item: dict[str, Any] = {
            **checkout_scan_key(),
            "entity": "checkoutScan",
            "after": json.loads(page.cursor),
            "retry": list(failed),
        }
        self.client.put_item(TableName=self.table_name, Item=to_attrs(item))

    def _state(self) -> dict[str, Any]:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(checkout_scan_key()), ConsistentRead=True
        )
        return from_attrs(response["Item"]) if response.get("Item") else {}
