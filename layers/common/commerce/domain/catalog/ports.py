"""The port the catalog operations need from storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from commerce.domain.catalog.models import CatalogPosition, Product, ProductCriteria, ProductPage, ProductRecord


class CatalogRepository(Protocol):
    def add(self, record: ProductRecord) -> None:
        """Write a new product and its SKUs (stock 0) at once, or nothing: SkuExists names SKUs already taken."""
        ...

    def get(self, product_id: str, *, consistent: bool = False) -> Product | None:
        """The product with all its variants (retired ones included) and their stock, or None."""
        ...

    def replace(self, record: ProductRecord, *, expected_version: int, retire: Sequence[str]) -> None:
        """Write the product, upsert its SKUs and retire `retire`, all at once or nothing.

        ProductChanged when the stored version is not `expected_version`; SkuExists for SKUs of another product.
        """
        ...

    def find(self, criteria: ProductCriteria, limit: int, after: CatalogPosition | None) -> ProductPage:
        """Up to `limit` products matching `criteria` in (sort name, id) order, strictly after `after`."""
        ...
