"""The catalog on DynamoDB: PRODUCT items (listed through GSI1/GSI2) and the SKU items they own (see keys.py).

A product item keeps its sellable SKUs in order (`skus`) and the ones it retired (`retiredSkus`); names,
prices and stock live on the SKU items, which carts and checkouts read directly. Creating and replacing a
product is one TransactWriteItems, so a product and its SKUs never disagree, and a SKU can only be created
where none exists, or updated by the product that owns it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs

# SKU items are shared with the stock ledger, and so is the reading of cancelled transactions.
from commerce.adapters.dynamodb.inventory import (
    Backoff,
    CancellationReason,
    add_shard_counters,
    cancellation_reasons,
    only_contention,
    rfc3339,
)
from commerce.adapters.dynamodb.keys import CATALOG, catalog_sort_key, category_partition, product_key, sku_key
from commerce.domain.catalog.errors import ProductChanged, SkuExists
from commerce.domain.catalog.models import (
    CatalogPosition,
    Product,
    ProductCriteria,
    ProductPage,
    ProductRecord,
    Variant,
    sort_name,
)
from commerce.domain.errors import CommerceError, Conflict, ErrorCode
from commerce.domain.inventory.models import Stock
from commerce.domain.money import Money

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_BATCH_GET_LIMIT = 100
_SKU_ATTRIBUTES = "#sku, variantName, price, onHand, #reserved, available, retired, shardSpan"


class DynamoDbCatalog:
    """`CatalogRepository` over the commerce table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or Backoff()

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    # ------------------------------------------------------------------ writes

    def add(self, record: ProductRecord) -> None:
        items: list[dict[str, Any]] = [
            self._put_if_absent(_product_item(record)),
            *(self._put_if_absent(_new_sku_item(record, index)) for index in range(len(record.spec.variants))),
        ]
        reasons = self._transact(items)
        if reasons is None:
            return
        taken = [
            (i, sku) for i, (sku, r) in enumerate(zip(record.spec.skus, reasons[1:], strict=True)) if r.condition_failed
        ]
        if taken:
            raise SkuExists(taken)
        if reasons[0].condition_failed:
            raise ProductChanged(record.product_id)
        raise Conflict("A concurrent change touched these SKUs; retry")

    def replace(self, record: ProductRecord, *, expected_version: int, retire: Sequence[str]) -> None:
        pid = to_attrs({":pid": record.product_id})[":pid"]
        now = rfc3339(record.updated_at)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_attrs(_product_item(record)),
                    "ConditionExpression": "#version = :expected",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": to_attrs({":expected": expected_version}),
                }
            },
            *(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_attrs(sku_key(variant.sku)),
                        # New SKUs start at zero; kept ones keep their counters (if_not_exists).
                        "UpdateExpression": (
                            "SET entity = :entity, #sku = :sku, productId = :pid, productName = :productName, "
                            "variantName = :variantName, price = :price, retired = :false, updatedAt = :now, "
                            "onHand = if_not_exists(onHand, :zero), #reserved = if_not_exists(#reserved, :zero), "
                            "available = if_not_exists(available, :zero)"
                        ),
                        "ConditionExpression": "attribute_not_exists(PK) OR productId = :pid",
                        "ExpressionAttributeNames": {"#sku": "sku", "#reserved": "reserved"},
                        "ExpressionAttributeValues": {
                            **to_attrs(
                                {
                                    ":entity": "SKU",
                                    ":sku": variant.sku,
                                    ":productName": record.spec.name,
                                    ":variantName": variant.name,
                                    ":price": variant.price.to_json(),
                                    ":false": False,
                                    ":now": now,
                                    ":zero": 0,
                                }
                            ),
                            ":pid": pid,
                        },
                    }
                }
                for variant in record.spec.variants
            ),
            *(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_attrs(sku_key(sku)),
                        "UpdateExpression": "SET retired = :true, updatedAt = :now",
                        "ConditionExpression": "productId = :pid",
                        "ExpressionAttributeValues": {**to_attrs({":true": True, ":now": now}), ":pid": pid},
                    }
                }
                for sku in retire
            ),
        ]
        reasons = self._transact(items)
        if reasons is None:
            return
        variant_reasons = reasons[1 : 1 + len(record.spec.variants)]
        taken = [
            (i, sku)
            for i, (sku, r) in enumerate(zip(record.spec.skus, variant_reasons, strict=True))
            if r.condition_failed
        ]
        if taken:
            raise SkuExists(taken)
        if any(r.condition_failed for r in reasons):
            raise ProductChanged(record.product_id)
        raise Conflict("A concurrent change touched this product's SKUs; retry")

    def _put_if_absent(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attrs(item),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> list[CancellationReason] | None:
        """None when the transaction committed; else the cancellation reasons (other errors propagate)."""
        from botocore.exceptions import ClientError

        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if reasons is None:
                raise
            if not any(r.condition_failed for r in reasons) and not only_contention(reasons):
                raise
            return reasons
        return None

    # ------------------------------------------------------------------ reads

    def get(self, product_id: str, *, consistent: bool = False) -> Product | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(product_key(product_id)), ConsistentRead=consistent
        )
        item = response.get("Item")
        if not item:
            return None
        product_item = from_attrs(item)
        return self._hydrate([product_item], consistent=consistent)[0]

    def find(self, criteria: ProductCriteria, limit: int, after: CatalogPosition | None) -> ProductPage:
        if criteria.category is not None:
            index, pk_attr, sk_attr, partition = "GSI2", "GSI2PK", "GSI2SK", category_partition(criteria.category)
        else:
            index, pk_attr, sk_attr, partition = "GSI1", "GSI1PK", "GSI1SK", CATALOG
        names = {"#pk": pk_attr}
        values: dict[str, Any] = {":pk": partition}
        condition = "#pk = :pk"
        params: dict[str, Any] = {"TableName": self.table_name, "IndexName": index}
        prefix = criteria.sort_prefix
        if prefix:
            condition += " AND begins_with(#sk, :prefix)"
            names |= {"#sk": sk_attr, "#nameFolded": "nameFolded"}
            values[":prefix"] = prefix
            # The sort key is "<name>#<id>": a prefix containing "#" could match the id part, so the
            # folded name itself must match too.
            params["FilterExpression"] = "begins_with(#nameFolded, :prefix)"
        params |= {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_attrs(values),
        }
        start: dict[str, Any] | None = None
        if after is not None:
            start = to_attrs(
                {
                    **product_key(after.product_id),
                    pk_attr: partition,
                    sk_attr: catalog_sort_key(after.sort_name, after.product_id),
                }
            )
        found: list[dict[str, Any]] = []
        # One more than asked, to know whether another page exists without handing out a dead cursor.
        while len(found) <= limit:
            page_params = {**params, "Limit": limit + 1 - len(found)}
            if start is not None:
                page_params["ExclusiveStartKey"] = start
            response = self.client.query(**page_params)
            found += [from_attrs(item) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        items = self._hydrate(found[:limit], consistent=False)
        more = len(found) > limit
        return ProductPage(items=tuple(items), next_position=CatalogPosition.of(items[-1]) if more and items else None)

    def _hydrate(self, product_items: list[dict[str, Any]], *, consistent: bool) -> list[Product]:
        """Products with their variants, from product items plus one batch read of all their SKU items."""
        wanted = [sku for p in product_items for sku in (*p.get("skus", []), *p.get("retiredSkus", []))]
        skus = self._sku_items(list(dict.fromkeys(wanted)), consistent=consistent)
        return [_product(p, skus) for p in product_items]

    def _sku_items(self, skus: list[str], *, consistent: bool) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(skus, _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [to_attrs(sku_key(sku)) for sku in chunk],
                    "ConsistentRead": consistent,
                    "ProjectionExpression": _SKU_ATTRIBUTES,
                    "ExpressionAttributeNames": {"#sku": "sku", "#reserved": "reserved"},
                }
            }
            for attempt in range(self.backoff.attempts):
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = from_attrs(item)
                    found[str(plain["sku"])] = plain
                # Keys DynamoDB had no capacity for come back unprocessed: ask again for those, after a pause.
                request = dict(response.get("UnprocessedKeys") or {})
                if not request:
                    break
                self.backoff.pause(attempt)
            else:
                raise CommerceError("The catalog is too busy to read right now", code=ErrorCode.BUSY)
        # `available` on a product is the sum over the SKU's shards (one more read when any is sharded).
        add_shard_counters(self.client, self.table_name, found, consistent=consistent, backoff=self.backoff)
        return found


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _product_item(record: ProductRecord) -> dict[str, Any]:
    spec = record.spec
    order = catalog_sort_key(spec.name, record.product_id)
    return {
        **product_key(record.product_id),
        "entity": "PRODUCT",
        "productId": record.product_id,
        "name": spec.name,
        "nameFolded": sort_name(spec.name),
        "description": spec.description,
        "category": spec.category,
        "skus": list(spec.skus),
        "retiredSkus": list(record.retired_skus),
        "createdAt": rfc3339(record.created_at),
        "updatedAt": rfc3339(record.updated_at),
        "version": record.version,
        "GSI1PK": CATALOG,
        "GSI1SK": order,
        "GSI2PK": category_partition(spec.category),
        "GSI2SK": order,
    }


def _new_sku_item(record: ProductRecord, index: int) -> dict[str, Any]:
    variant = record.spec.variants[index]
    return {
        **sku_key(variant.sku),
        "entity": "SKU",
        "sku": variant.sku,
        "productId": record.product_id,
        "productName": record.spec.name,
        "variantName": variant.name,
        "price": variant.price.to_json(),
        "onHand": 0,
        "reserved": 0,
        "available": 0,
        "retired": False,
        "updatedAt": rfc3339(record.updated_at),
    }


def _product(item: dict[str, Any], skus: dict[str, dict[str, Any]]) -> Product:
    variants = [_variant(skus[sku], retired=False) for sku in item.get("skus", []) if sku in skus]
    variants += [_variant(skus[sku], retired=True) for sku in item.get("retiredSkus", []) if sku in skus]
    return Product(
        product_id=str(item["productId"]),
        name=str(item["name"]),
        description=str(item.get("description", "")),
        category=str(item["category"]),
        variants=tuple(variants),
        created_at=datetime.fromisoformat(str(item["createdAt"])),
        updated_at=datetime.fromisoformat(str(item["updatedAt"])),
        version=int(item["version"]),
    )


def _variant(item: dict[str, Any], *, retired: bool) -> Variant:
    sku = str(item["sku"])
    price = item["price"]
    return Variant(
        sku=sku,
        name=str(item["variantName"]),
        price=Money(int(price["amount"]), str(price["currency"])),
        stock=Stock(sku=sku, on_hand=int(item.get("onHand", 0)), reserved=int(item.get("reserved", 0))),
        retired=retired,
    )
