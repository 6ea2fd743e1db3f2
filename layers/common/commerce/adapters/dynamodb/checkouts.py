"""Checkout records on DynamoDB (CHECKOUT#<id> / CHECKOUT, see keys.py), written only conditionally.

`create` puts the record only if absent (a retried create returns the stored one); `replace` writes a
new state only if the stored version is still the one it was read at, so two writers racing on one
checkout (the workflow and the upkeep job, say) cannot both win.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import CHECKOUT_LISTING_SHARDS, checkout_key, checkout_listing_partition
from commerce.domain.checkout.errors import CheckoutChanged
from commerce.domain.checkout.models import Checkout, CheckoutStatus, Failure, Payment
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress
from commerce.domain.sessions.models import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDbCheckouts:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def create(self, checkout: Checkout) -> Checkout:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_attrs(checkout_item(checkout)),
                ConditionExpression="attribute_not_exists(PK)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            return checkout_from_item(from_attrs(error.response["Item"]))  # type: ignore[typeddict-item]
        return checkout

    def get(self, checkout_id: str) -> Checkout | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(checkout_key(checkout_id)), ConsistentRead=True
        )
        return checkout_from_item(from_attrs(response["Item"])) if "Item" in response else None

    def replace(self, checkout: Checkout, *, expected_version: int) -> Checkout:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_attrs(checkout_item(checkout)),
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise CheckoutChanged(f"checkout {checkout.checkout_id} changed concurrently") from error
        return checkout


# QUEUED checkouts are listed in GSI1 (GSI1PK = QUEUED_CHECKOUTS#<shard>, GSI1SK = <reservation expiry>#<id>),
# so that the upkeep finds those never processed without a scan. The index is sparse: the attributes exist only
# while the checkout is QUEUED, and every writer (create, the workflow's replace) rewrites them from the status
# here. Shards keep a burst of checkouts from writing to one index partition.
QUEUED_CHECKOUTS_PREFIX = "QUEUED_CHECKOUTS#"
QUEUED_CHECKOUT_SHARDS = 16


def queued_checkouts_partition(shard: int) -> str:
    return f"{QUEUED_CHECKOUTS_PREFIX}{shard:02d}"


def queued_index_attributes(checkout: Checkout) -> dict[str, str]:
    if checkout.status is not CheckoutStatus.QUEUED:
        return {}
    shard = zlib.crc32(checkout.checkout_id.encode()) % QUEUED_CHECKOUT_SHARDS
    return {
        "GSI1PK": queued_checkouts_partition(shard),
        # RFC 3339 in UTC to the millisecond sorts as time does: a key range is a time range.
        "GSI1SK": f"{rfc3339(checkout.reservation_expires_at)}#{checkout.checkout_id}",
    }


def listing_index_attributes(checkout: Checkout) -> dict[str, str]:
    """Every checkout is in the operators' listing (GSI3, see checkout_listing.py), whatever its status."""
    shard = zlib.crc32(checkout.checkout_id.encode()) % CHECKOUT_LISTING_SHARDS
    return {
        "GSI3PK": checkout_listing_partition(shard),
        "GSI3SK": f"{rfc3339(checkout.created_at)}#{checkout.checkout_id}",
    }


def checkout_item(checkout: Checkout) -> dict[str, Any]:
    return {
        **checkout_key(checkout.checkout_id),
        **queued_index_attributes(checkout),
        **listing_index_attributes(checkout),
        "entity": "checkout",
        "checkoutId": checkout.checkout_id,
        "orderId": checkout.order_id,
        "sessionId": checkout.owner.session_id,
        "customerId": checkout.owner.customer_id,
        "status": checkout.status.value,
        "email": checkout.email,
        "shippingAddress": checkout.shipping_address.to_json(),
        "lines": [
            {
                "sku": line.sku,
                "productId": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unitPrice": line.unit_price.to_json(),
            }
            for line in checkout.lines
        ],
        "total": checkout.total.to_json(),
        "reservationExpiresAt": checkout.reservation_expires_at.isoformat(),
        "createdAt": checkout.created_at.isoformat(),
        "updatedAt": checkout.updated_at.isoformat(),
        "payment": checkout.payment.to_json() if checkout.payment else None,
        "failure": checkout.failure.to_json() if checkout.failure else None,
        "version": checkout.version,
    }


def checkout_from_item(item: dict[str, Any]) -> Checkout:
    return Checkout(
        checkout_id=item["checkoutId"],
        order_id=item["orderId"],
        owner=OrderOwner(session_id=item.get("sessionId"), customer_id=item.get("customerId")),
        status=CheckoutStatus(item["status"]),
        email=item["email"],
        shipping_address=ShippingAddress.from_json(item["shippingAddress"]),
        lines=tuple(
            OrderLine(
                sku=line["sku"],
                product_id=line["productId"],
                name=line["name"],
                quantity=int(line["quantity"]),
                unit_price=_money(line["unitPrice"]),
            )
            for line in item["lines"]
        ),
        total=_money(item["total"]),
        reservation_expires_at=datetime.fromisoformat(item["reservationExpiresAt"]),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
        payment=Payment.from_json(item["payment"]) if item.get("payment") else None,
        failure=Failure.from_json(item["failure"]) if item.get("failure") else None,
        version=int(item["version"]),
    )


def _money(data: dict[str, Any]) -> Money:
    return Money(int(data["amount"]), str(data["currency"]))
