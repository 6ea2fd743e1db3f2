"""The cart store on the commerce table: sessions, carts and catalog SKU items, read together.

DynamoDB calls per request, and why they are the minimum this data model allows:

- `GET /cart`: **2 calls**, 1 BatchGetItem for the session and the cart (the guest cart's key comes from the
  token, the customer's from the JWT, so both are known before anything is read), then 1 BatchGetItem for
  the cart's SKUs, whose keys are only known once the cart has been read. An empty cart needs only the first.
- `POST /cart/lines` (and `PUT`): **3 calls**, 1 BatchGetItem for the session, the cart and the SKU being
  added, 1 BatchGetItem for the SKUs of the cart's other lines (to re-price them; again only known after
  the cart is read), and 1 conditional PutItem of the cart. On an empty cart the second read is not needed:
  2 calls. The write cannot be folded into the reads: caps, stock and currency are checked against the
  cart as read, and the write is conditional on the version read.
- `DELETE /cart/lines/{sku}`: the same as `PUT` without the SKU in the first read.

Occasional extra calls: a session bound to a customer but presented without the JWT costs 1 GetItem for
the customer's cart (its key is only known from the session); refreshing a stale session expiry costs
1 UpdateItem (a TransactWriteItems when a guest cart's TTL moves with it), at most once per refresh
interval (a day by default); signing in costs 1 TransactWriteItems, once per session.

All reads are strongly consistent: a storefront reads its cart right after changing it, and a stale read
would only turn into a failed conditional write and a retry.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.inventory import TRANSACTION_BACKOFF, add_shard_counters
from commerce.adapters.dynamodb.keys import cart_key, customer_owner, guest_owner, session_key, sku_key
from commerce.adapters.dynamodb.sessions import (
    bind_customer_update,
    epoch_seconds,
    extend_expiry_update,
    session_from_attrs,
)
from commerce.domain.carts.errors import CartVersionConflict
from commerce.domain.carts.models import Cart, CartLine, CartOwner, CatalogSku, OwnerKind
from commerce.domain.carts.service import CustomerBinding, Snapshot
from commerce.domain.clock import parse_rfc3339, rfc3339
from commerce.domain.money import Money
from commerce.domain.sessions.models import Session
from commerce.observability import logger
from commerce.retry import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100  # keys per BatchGetItem
UNPROCESSED_RETRIES = 5
# Unprocessed keys mean throttling: wait 50 ms, 100 ms, ... (no jitter) before asking again, as AWS recommends.
UNPROCESSED_BACKOFF = Backoff(base_seconds=0.05, jitter=0.0)
_LOST_RACE = {"ConditionalCheckFailed", "TransactionConflict"}


def owner_key(owner: CartOwner) -> str:
    return guest_owner(owner.id) if owner.kind is OwnerKind.GUEST else customer_owner(owner.id)


def cart_item(cart: Cart, expires_at: datetime | None) -> dict[str, Any]:
    return {
        **cart_key(owner_key(cart.owner)),
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in cart.lines],
        "version": cart.version,
        "updatedAt": rfc3339(cart.updated_at) if cart.updated_at else None,
        "ttl": epoch_seconds(expires_at) if expires_at else None,
    }


def cart_from_item(owner: CartOwner, item: dict[str, Any]) -> Cart:
    return Cart(
        owner=owner,
        lines=tuple(CartLine(sku=str(line["sku"]), quantity=int(line["quantity"])) for line in item.get("lines", [])),
        version=int(item["version"]),
        updated_at=parse_rfc3339(str(item["updatedAt"])) if item.get("updatedAt") else None,
    )


def catalog_sku_from_item(item: dict[str, Any]) -> CatalogSku:
    price = item["price"]
    return CatalogSku(
        sku=str(item["PK"]).removeprefix("SKU#"),
        product_id=str(item["productId"]),
        product_name=str(item.get("productName", "")),
        variant_name=str(item.get("variantName", "")),
        price=Money(int(price["amount"]), str(price["currency"])),
        available=int(item.get("available", 0)),
        retired=bool(item.get("retired", False)),
    )


def _version_condition(cart: Cart) -> tuple[str, dict[str, Any]]:
    """The condition that the stored cart is still the one read (absent when nothing was stored)."""
    if cart.stored:
        return "#version = :version", {":version": {"N": str(cart.version)}}
    return "attribute_not_exists(PK)", {}


def _put_if_unchanged(table_name: str, read: Cart, item: dict[str, Any]) -> dict[str, Any]:
    condition, values = _version_condition(read)
    put: dict[str, Any] = {"TableName": table_name, "Item": to_attrs(item), "ConditionExpression": condition}
    if values:
        put["ExpressionAttributeNames"] = {"#version": "version"}
        put["ExpressionAttributeValues"] = values
    return put


def _lost_race(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = {reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])}
        return bool(reasons & _LOST_RACE)
    return False


class DynamoCartStore:
    """The domain's CartStore on one table. The boto3 client is created on first use."""

    def __init__(self, table_name: str, client: Callable[[], DynamoDBClient] = dynamodb_client) -> None:
        self._table_name = table_name
        self._client = client

    def load(self, session_id: str, owners: Sequence[CartOwner], skus: Collection[str]) -> Snapshot:
        session_pk = session_key(session_id)["PK"]
        owner_by_pk = {cart_key(owner_key(owner))["PK"]: owner for owner in owners}
        keys = [session_key(session_id)] + [cart_key(owner_key(o)) for o in owners] + [sku_key(s) for s in skus]
        session: Session | None = None
        carts = {owner: Cart.empty(owner) for owner in owners}
        sku_items: dict[str, dict[str, Any]] = {}
        for attrs in self._batch_get(keys):
            pk = attrs["PK"]["S"]
            if pk in owner_by_pk:
                owner = owner_by_pk[pk]
                carts[owner] = cart_from_item(owner, from_attrs(attrs))
            elif pk.startswith("SKU#"):
                sku_items[pk.removeprefix("SKU#")] = from_attrs(attrs)
            elif pk == session_pk:
                session = session_from_attrs(attrs)
        return Snapshot(session=session, carts=carts, skus=self._catalog_skus(sku_items))

    def load_cart(self, owner: CartOwner) -> Cart:
        response = self._client().get_item(
            TableName=self._table_name, Key=to_attrs(cart_key(owner_key(owner))), ConsistentRead=True
        )
        item = response.get("Item")
        return cart_from_item(owner, from_attrs(item)) if item else Cart.empty(owner)

    def load_skus(self, skus: Collection[str]) -> dict[str, CatalogSku]:
        items = (from_attrs(attrs) for attrs in self._batch_get([sku_key(s) for s in skus]))
        return self._catalog_skus({str(item["PK"]).removeprefix("SKU#"): item for item in items})

    def _catalog_skus(self, sku_items: dict[str, dict[str, Any]]) -> dict[str, CatalogSku]:
        # A sharded SKU's `available` is the sum over its shards: one more read, only when one is sharded.
        add_shard_counters(self._client(), self._table_name, sku_items, consistent=True, backoff=TRANSACTION_BACKOFF)
        return {sku: catalog_sku_from_item(item) for sku, item in sku_items.items()}

    def save(self, cart: Cart, expires_at: datetime | None) -> Cart:
        stored = replace(cart, version=cart.version + 1)
        try:
            self._client().put_item(**_put_if_unchanged(self._table_name, cart, cart_item(stored, expires_at)))
        except ClientError as error:
            if _lost_race(error):
                raise CartVersionConflict from error
            raise
        return stored

    def bind_customer(self, binding: CustomerBinding) -> None:
        guest = binding.guest_cart
        tombstone = Cart(owner=guest.owner, version=guest.version + 1, updated_at=binding.bound_at)
        items: list[dict[str, Any]] = [
            {
                "Update": bind_customer_update(
                    self._table_name, binding.session, binding.customer_id, binding.expires_at
                )
            },
            {
                "Put": _put_if_unchanged(
                    self._table_name,
                    guest,
                    {**cart_item(tombstone, binding.tombstone_expires_at), "merged": True},
                )
            },
        ]
        if binding.merged is not None:
            merged = replace(binding.merged, version=binding.merged.version + 1)
            items.append({"Put": _put_if_unchanged(self._table_name, binding.merged, cart_item(merged, None))})
        try:
            self._client().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if _lost_race(error):
                raise CartVersionConflict from error
            raise

    def extend_session(self, session: Session, expires_at: datetime, guest_cart: Cart | None) -> None:
        session_update = extend_expiry_update(self._table_name, session, expires_at)
        try:
            if guest_cart is None or not guest_cart.stored:
                self._client().update_item(**session_update)
                return
            condition, values = _version_condition(guest_cart)
            cart_update: dict[str, Any] = {
                "TableName": self._table_name,
                "Key": to_attrs(cart_key(owner_key(guest_cart.owner))),
                "UpdateExpression": "SET #ttl = :ttl",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#ttl": "ttl", "#version": "version"},
                "ExpressionAttributeValues": {**values, ":ttl": {"N": str(epoch_seconds(expires_at))}},
            }
            items = [{"Update": session_update}, {"Update": cart_update}]
            self._client().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            # Losing here means someone else just wrote the session or the cart (and with it a fresh
            # expiry), or the session was purged; the request itself was authenticated, so it goes on.
            if not _lost_race(error):
                raise
            logger.info("session expiry not extended: concurrent change", extra={"session_id": session.session_id})

    def _batch_get(self, keys: Sequence[dict[str, str]]) -> Iterator[dict[str, Any]]:
        unique = list({(k["PK"], k["SK"]): k for k in keys}.values())
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._table_name: {
                    "Keys": [to_attrs(k) for k in unique[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(UNPROCESSED_RETRIES + 1):
                response = self._client().batch_get_item(RequestItems=request)
                yield from response.get("Responses", {}).get(self._table_name, [])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt == UNPROCESSED_RETRIES:
                    raise RuntimeError("DynamoDB left keys unprocessed after retries (throttled)")
                # Unprocessed keys mean throttling: back off before asking again, as AWS recommends.
                UNPROCESSED_BACKOFF.pause(attempt)
