"""The JSON shapes of products in the HTTP contract: the public view and the operators' view."""

from __future__ import annotations

from typing import Any

from commerce.domain.catalog.models import Product, Variant
from commerce.domain.clock import rfc3339


def public_product(product: Product) -> dict[str, Any]:
    """Only sellable variants; `available` never shows a negative count."""
    return {
        "productId": product.product_id,
        "name": product.name,
        "description": product.description,
        "category": product.category,
        "variants": [_public_variant(v) for v in product.sellable_variants],
        "updatedAt": rfc3339(product.updated_at),
    }


def admin_product(product: Product) -> dict[str, Any]:
    """The public shape plus every variant's counters and retired ones (flagged), for operators."""
    return {
        **public_product(product),
        "variants": [
            {**_public_variant(v), "onHand": v.stock.on_hand, "reserved": v.stock.reserved, "retired": v.retired}
            for v in product.variants
        ],
        "createdAt": rfc3339(product.created_at),
    }


def _public_variant(variant: Variant) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "name": variant.name,
        "price": variant.price.to_json(),
        "available": max(variant.stock.available, 0),
    }
