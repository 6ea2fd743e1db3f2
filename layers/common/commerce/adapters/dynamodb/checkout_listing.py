"""The operators' checkout listing over GSI3 of the commerce table (see checkouts.py and keys.py).

Every checkout record carries GSI3PK = CHECKOUTS#<shard 0..7> and GSI3SK = <createdAt, RFC 3339>#<id>; the
index projects the checkout's API shape only (GSI3 in template.yaml). Shards keep a flash sale's burst of
checkout writes from landing on one index partition; a status change rewrites the item in place.

A page is a merge of one descending Query per shard, each bounded to the filters' time range and to what
the previous page returned. A status filter is a FilterExpression: DynamoDB still reads the other statuses
in that range, so each shard reports how far down it looked (its LastEvaluatedKey). Only what every shard has
looked at is complete, so a page ends at the highest of those points; it may hold fewer items than asked,
and its position says where the next one starts.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs
from commerce.adapters.dynamodb.keys import CHECKOUT_LISTING_SHARDS, checkout_listing_partition
from commerce.domain.checkout.listing import CheckoutListFilters, CheckoutPage, CheckoutSummary
from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.sessions.models import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX_NAME = "GSI3"
# Below and above every RFC 3339 sort key: the ends of an unbounded range.
_LOWEST, _HIGHEST = "0", "9~"
# Rounds of shard queries one page may take to find its items when a filter skips most of them.
_MAX_ROUNDS = 4


class DynamoDbCheckoutListing:
    """`CheckoutListing` over GSI3."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def page(self, filters: CheckoutListFilters, limit: int, after: str | None) -> CheckoutPage:
        found: list[CheckoutSummary] = []
        position = after
        for _ in range(_MAX_ROUNDS):
            summaries, position = self._round(filters, limit - len(found), position)
            found.extend(summaries)
            if position is None or len(found) >= limit:
                break
        return CheckoutPage(found, position)

    def _round(
        self, filters: CheckoutListFilters, limit: int, before: str | None
    ) -> tuple[list[CheckoutSummary], str | None]:
        lower = rfc3339(filters.created_from) if filters.created_from else _LOWEST
        # createdTo is exclusive: no sort key equals a bare timestamp, and "<ts>#<id>" sorts after "<ts>".
        upper = before or (rfc3339(filters.created_to) if filters.created_to else _HIGHEST)
        items: list[dict[str, Any]] = []
        looked_down_to: list[str] = []  # per shard that has more: the lowest sort key it examined
        for shard in range(CHECKOUT_LISTING_SHARDS):
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": INDEX_NAME,
                "KeyConditionExpression": "GSI3PK = :shard AND GSI3SK BETWEEN :lower AND :upper",
                "ExpressionAttributeValues": {
                    ":shard": {"S": checkout_listing_partition(shard)},
                    ":lower": {"S": lower},
                    ":upper": {"S": upper},
                },
                "ScanIndexForward": False,
                "Limit": limit + 1,  # + the item the position names, which BETWEEN includes
            }
            if filters.status is not None:
                request["FilterExpression"] = "#status = :status"
                request["ExpressionAttributeNames"] = {"#status": "status"}
                request["ExpressionAttributeValues"][":status"] = {"S": filters.status.value}
            response = self.client.query(**request)
            items.extend(from_attrs(item) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if last:
                looked_down_to.append(last["GSI3SK"]["S"])
        # Complete down to the highest point any unfinished shard reached; below it, the next round.
        floor = max(looked_down_to) if looked_down_to else None
        known = sorted(
            (item for item in items if item["GSI3SK"] != before and (floor is None or item["GSI3SK"] >= floor)),
            key=lambda item: str(item["GSI3SK"]),
            reverse=True,
        )
        if len(known) > limit:
            known = known[:limit]
            return [_summary(item) for item in known], str(known[-1]["GSI3SK"])
        return [_summary(item) for item in known], floor


def _summary(item: dict[str, Any]) -> CheckoutSummary:
    return CheckoutSummary(
        checkout_id=item["checkoutId"],
        order_id=item["orderId"],
        status=CheckoutStatus(item["status"]),
        total={"amount": int(item["total"]["amount"]), "currency": str(item["total"]["currency"])},
        payment=item.get("payment"),
        failure=item.get("failure"),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
    )
