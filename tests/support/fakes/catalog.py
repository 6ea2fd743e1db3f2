"""An in-memory `CatalogRepository` with the DynamoDB adapter's semantics, for unit tests.

SKUs live in the `InMemoryStockLedger` it is given, as SKU items are shared by catalog and stock in
DynamoDB. Listings follow the index order: the string "<sort name>#<product id>", compared by code point
(which is the UTF-8 byte order DynamoDB compares sort keys in).
"""

from __future__ import annotations

from collections.abc import Sequence

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
from tests.support.fakes.inventory import InMemoryStockLedger, SkuRecord


def _order_key(name_folded: str, product_id: str) -> str:
    return f"{name_folded}#{product_id}"


class InMemoryCatalog:
    def __init__(self, ledger: InMemoryStockLedger | None = None) -> None:
        self.ledger = ledger or InMemoryStockLedger()
        self.records: dict[str, ProductRecord] = {}

    def add(self, record: ProductRecord) -> None:
        with self.ledger.lock:
            taken = [(i, sku) for i, sku in enumerate(record.spec.skus) if sku in self.ledger.skus]
            if taken:
                raise SkuExists(taken)
            if record.product_id in self.records:
                raise ProductChanged(record.product_id)
            self._write(record, retire=())

    def get(self, product_id: str, *, consistent: bool = False) -> Product | None:
        with self.ledger.lock:
            record = self.records.get(product_id)
            return self._product(record) if record else None

    def replace(self, record: ProductRecord, *, expected_version: int, retire: Sequence[str]) -> None:
        with self.ledger.lock:
            stored = self.records.get(record.product_id)
            if stored is None or stored.version != expected_version:
                raise ProductChanged(record.product_id)
            taken = [
                (i, sku)
                for i, sku in enumerate(record.spec.skus)
                if sku in self.ledger.skus and self.ledger.skus[sku].product_id != record.product_id
            ]
            if taken:
                raise SkuExists(taken)
            self._write(record, retire=retire)

    def find(self, criteria: ProductCriteria, limit: int, after: CatalogPosition | None) -> ProductPage:
        with self.ledger.lock:
            prefix = criteria.sort_prefix
            start = _order_key(after.sort_name, after.product_id) if after else None
            matching = sorted(
                (
                    (_order_key(sort_name(r.spec.name), r.product_id), r)
                    for r in self.records.values()
                    if (criteria.category is None or r.spec.category == criteria.category)
                    and (prefix is None or sort_name(r.spec.name).startswith(prefix))
                ),
                key=lambda pair: pair[0],
            )
            page = [self._product(r) for key, r in matching if start is None or key > start][: limit + 1]
        more = len(page) > limit
        items = tuple(page[:limit])
        return ProductPage(items=items, next_position=CatalogPosition.of(items[-1]) if more else None)

    def _write(self, record: ProductRecord, retire: Sequence[str]) -> None:
        for variant in record.spec.variants:
            existing = self.ledger.skus.get(variant.sku)
            if existing is None:
                self.ledger.skus[variant.sku] = SkuRecord(
                    sku=variant.sku,
                    product_id=record.product_id,
                    product_name=record.spec.name,
                    variant_name=variant.name,
                    price=variant.price,
                )
            else:
                existing.product_name = record.spec.name
                existing.variant_name = variant.name
                existing.price = variant.price
                existing.retired = False
        for sku in retire:
            self.ledger.skus[sku].retired = True
        self.records[record.product_id] = record

    def _product(self, record: ProductRecord) -> Product:
        skus = self.ledger.skus
        variants = [
            Variant(sku=v.sku, name=v.name, price=v.price, stock=skus[v.sku].stock()) for v in record.spec.variants
        ]
        variants += [
            Variant(sku=sku, name=skus[sku].variant_name, price=skus[sku].price, stock=skus[sku].stock(), retired=True)
            for sku in record.retired_skus
        ]
        spec = record.spec
        return Product(
            product_id=record.product_id,
            name=spec.name,
            description=spec.description,
            category=spec.category,
            variants=tuple(variants),
            created_at=record.created_at,
            updated_at=record.updated_at,
            version=record.version,
        )
