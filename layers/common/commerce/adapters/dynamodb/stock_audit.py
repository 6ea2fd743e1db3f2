"""`StockAuditStore` on the commerce table (what the audit checks and why: commerce.domain.inventory.audit).

Bounded work per run: a page of products of the catalog (GSI1 partition CATALOG, by name, `limit` products
per page, the cursor stored between runs in the audit's state item, keys.py), so that every SKU is audited
in turn however large the catalog is, at a known cost per run: one Query, one consistent BatchGetItem for the
page's SKU items and one for their shard items. A page of products rather than "the SKUs touched recently"
because the units the audit is for are exactly those nothing touches any more (a leaked `reserved` has no
reservation left to point at its SKU). A product's retired SKUs are audited too: they may still hold units.

The units held come from the index of held reservations (GSI1 HELD_RESERVATIONS#00..15, which projects the
whole reservation, `takes` included): every open reservation, read page by page. Their number is bounded by
the units on sale (each holds at least one), and the index holds only open ones: reservations close within
their expiry (minutes), so it stays small even in a long sale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import TRANSACTION_BACKOFF, dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.inventory import HELD_RESERVATION_SHARDS, INDEX_NAME, batch_get, is_throttling
from commerce.adapters.dynamodb.keys import (
    CATALOG,
    held_reservations_partition,
    sku_key,
    sku_shard_key,
    stock_audit_state_key,
)
from commerce.domain.inventory.audit import AuditState, ShardCount, SkuPage, Suspect
from commerce.domain.inventory.errors import StockBusy
from commerce.retry import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CURSOR_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK")  # what ExclusiveStartKey needs on GSI1


class DynamoDbStockAudit:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or TRANSACTION_BACKOFF

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def audit_state(self) -> AuditState:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(stock_audit_state_key()), ConsistentRead=True
        )
        item = from_attrs(response["Item"]) if response.get("Item") else {}
        suspects = {
            name: Suspect(int(figures["reserved"]), int(figures["held"]), int(figures.get("reservedWrites", -1)))
            for name, figures in (item.get("suspects") or {}).items()
        }
        cursor = item.get("cursor")
        return AuditState(cursor=str(cursor) if cursor else None, suspects=suspects)

    def save_audit_state(self, state: AuditState) -> None:
        suspects = {
            name: {"reserved": s.reserved, "held": s.held, "reservedWrites": s.reserved_writes}
            for name, s in state.suspects.items()
        }
        item: dict[str, Any] = {**stock_audit_state_key(), "entity": "stockAudit", "suspects": suspects}
        if state.cursor is not None:
            item["cursor"] = state.cursor
        self.client.put_item(TableName=self.table_name, Item=to_attrs(item))

    def sku_page(self, cursor: str | None, limit: int) -> SkuPage:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": "GSI1PK = :catalog",
            "ExpressionAttributeValues": {":catalog": {"S": CATALOG}},
            "ProjectionExpression": "PK, SK, GSI1PK, GSI1SK, skus, retiredSkus",
            "Limit": limit,
        }
        if cursor is not None:
            request["ExclusiveStartKey"] = to_attrs(json.loads(cursor))
        response = self._query(request)
        skus: list[str] = []
        for item in (from_attrs(raw) for raw in response.get("Items", [])):
            skus += [str(sku) for sku in [*(item.get("skus") or []), *(item.get("retiredSkus") or [])]]
        last = response.get("LastEvaluatedKey")
        next_cursor = json.dumps({name: from_attrs(last)[name] for name in _CURSOR_KEYS}) if last else None
        return SkuPage(list(dict.fromkeys(skus)), next_cursor)

    def shard_counts(self, skus: Sequence[str]) -> list[ShardCount]:
        by_key = {sku_key(sku)["PK"]: sku for sku in skus}  # a SKU item is named by its key (keys.py)
        sku_items = {by_key[str(item["PK"])]: item for item in self._batch_get([sku_key(sku) for sku in skus])}
        shard_keys = [sku_shard_key(sku, index) for sku, item in sku_items.items() for index in range(1, _span(item))]
        counts = [_count(sku, 0, item) for sku, item in sku_items.items()]
        counts += [_count(str(item["sku"]), int(item["shard"]), item) for item in self._batch_get(shard_keys)]
        return sorted(counts, key=lambda count: (count.sku, count.shard))

    def held_units(self) -> dict[tuple[str, int], int]:
        held: dict[tuple[str, int], int] = {}
        for shard in range(HELD_RESERVATION_SHARDS):
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": INDEX_NAME,
                "KeyConditionExpression": "GSI1PK = :shard",
                "ExpressionAttributeValues": {":shard": {"S": held_reservations_partition(shard)}},
                "ProjectionExpression": "takes, #lines, #status",
                "ExpressionAttributeNames": {"#lines": "lines", "#status": "status"},
            }
            while True:
                response = self._query(request)
                for item in (from_attrs(raw) for raw in response.get("Items", [])):
                    # Reservations made before shards existed took every line from shard 0 (no `takes`).
                    takes = item.get("takes") or [{**line, "shard": 0} for line in item.get("lines") or []]
                    for take in takes:
                        where = (str(take["sku"]), int(take["shard"]))
                        held[where] = held.get(where, 0) + int(take["quantity"])
                if not response.get("LastEvaluatedKey"):
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return held

    def correct_reserved(self, count: ShardCount, held: int) -> bool:
        from botocore.exceptions import ClientError

        values: dict[str, Any] = {
            ":held": held,
            ":available": count.on_hand - held,
            ":onHand": count.on_hand,
            ":reserved": count.reserved,
            ":wasAvailable": count.available,
            ":one": 1,
        }
        # Exactly as read: any reservation or release since then counted itself in reservedWrites and wins.
        condition = "#onHand = :onHand AND #reserved = :reserved AND #available = :wasAvailable AND "
        if count.reserved_writes:
            condition += "#reservedWrites = :writes"
            values[":writes"] = count.reserved_writes
        else:
            condition += "attribute_not_exists(#reservedWrites)"
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=to_attrs(sku_shard_key(count.sku, count.shard)),
                UpdateExpression="SET #reserved = :held, #available = :available ADD #reservedWrites :one",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#onHand": "onHand",
                    "#reserved": "reserved",
                    "#available": "available",
                    "#reservedWrites": "reservedWrites",
                },
                ExpressionAttributeValues=to_attrs(values),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _query(self, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return dict(self.client.query(**request))
        except ClientError as error:
            raise StockBusy() if is_throttling(error) else error from error

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        return batch_get(self.client, self.table_name, keys, consistent=True, backoff=self.backoff)


def _span(sku_item: dict[str, Any]) -> int:
    return int(sku_item.get("shardSpan", 1))


def _count(sku: str, shard: int, item: dict[str, Any]) -> ShardCount:
    return ShardCount(
        sku=sku,
        shard=shard,
        on_hand=int(item.get("onHand", 0)),
        reserved=int(item.get("reserved", 0)),
        available=int(item.get("available", 0)),
        reserved_writes=int(item.get("reservedWrites", 0)),
    )
