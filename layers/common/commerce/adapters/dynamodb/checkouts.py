"""Checkout records on DynamoDB (CHECKOUT#<id> / CHECKOUT, see keys.py), written only conditionally.

`create` puts the record only if absent (a retried create returns the stored one), in one transaction with
the cart's open-checkout lock (CART#<owner> / OPEN_CHECKOUT), conditional on the lock being absent or
naming the checkout the caller found final; `replace` writes a new state only if the stored version is
still the one it was read at, so two writers racing on one checkout (the workflow and the upkeep job, say)
cannot both win. A final state then deletes the lock if it still names this checkout; dying between the two
writes leaves a lock naming a final checkout, which the cart's next checkout takes over (service.py).
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb import time_index
from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import (
    CHECKOUT_LISTING_SHARDS,
    checkout_key,
    checkout_listing_partition,
    open_checkout_key,
)
from commerce.domain.checkout.errors import CartLockTaken, CheckoutChanged
from commerce.domain.checkout.models import Checkout, CheckoutStatus, Failure, Payment
from commerce.domain.clock import rfc3339
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDbCheckouts:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
        lock: dict[str, Any] = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attrs(
                    {**open_checkout_key(checkout.cart), "entity": "openCheckout", "checkoutId": checkout.checkout_id}
                ),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        if replacing is not None:
            lock["Put"]["ConditionExpression"] = "attribute_not_exists(PK) OR checkoutId = :replacing"
            lock["Put"]["ExpressionAttributeValues"] = {":replacing": {"S": replacing}}
        record = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attrs(checkout_item(checkout)),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[record, lock])  # type: ignore[list-item]
        except self.client.exceptions.TransactionCanceledException as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                stored = self.get(checkout.checkout_id)
                if stored is not None:
                    return stored  # a retried create
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise CartLockTaken(self.open_checkout_of(checkout.cart)) from error
            raise
        return checkout

    def open_checkout_of(self, cart: str) -> str | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(open_checkout_key(cart)), ConsistentRead=True
        )
        return str(from_attrs(response["Item"])["checkoutId"]) if "Item" in response else None

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
        if checkout.status.final:
            self._free_lock(checkout)
        return checkout

    def _free_lock(self, checkout: Checkout) -> None:
        """Delete the cart's lock if it still names this (now final) checkout. Best effort: a lock left behind
        names a final checkout, which the cart's next checkout takes over; the status write already stands."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=to_attrs(open_checkout_key(checkout.cart)),
                ConditionExpression="checkoutId = :id",
                ExpressionAttributeValues={":id": {"S": checkout.checkout_id}},
            )
        except self.client.exceptions.ClientError:
            # Freed before, taken over by the cart's next checkout, or the delete failed (throttled, say): never
            # raised, since the caller's next write (the upkeep's release of the stock) must still happen.
            return


# QUEUED checkouts are listed in GSI1 (GSI1PK = QUEUED_CHECKOUTS#<shard>, GSI1SK = <reservation expiry>#<id>),
# so that the upkeep finds those never processed without a scan. The index is sparse: the attributes exist only
# while the checkout is QUEUED, and every writer (create, the workflow's replace) rewrites them from the status
# here. Shards keep a burst of checkouts from writing to one index partition.
QUEUED_CHECKOUTS_PREFIX = "QUEUED_CHECKOUTS#"
QUEUED_CHECKOUT_SHARDS = 16


def queued_checkouts_partition(shard: int) -> str:
    return f"{QUEUED_CHECKOUTS_PREFIX}{shard:02d}"


QUEUED_CHECKOUT_PARTITIONS = tuple(queued_checkouts_partition(shard) for shard in range(QUEUED_CHECKOUT_SHARDS))


def queued_index_attributes(checkout: Checkout) -> dict[str, str]:
    if checkout.status is not CheckoutStatus.QUEUED:
        return {}
    return time_index.entry(QUEUED_CHECKOUT_PARTITIONS, checkout.checkout_id, checkout.reservation_expires_at)


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
