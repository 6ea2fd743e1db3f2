"""Catalog operations: operators create and replace products; everyone reads and lists them.

A product owns its SKUs for good: replacing a product retires the SKUs it drops (they stay readable
for operators and old carts, but are no longer sold) and a SKU never moves to another product.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from commerce.domain.catalog.errors import ProductNotFound
from commerce.domain.catalog.models import (
    MAX_VARIANTS,
    CatalogPosition,
    Product,
    ProductCriteria,
    ProductPage,
    ProductRecord,
    ProductSpec,
    Variant,
    invalid_cursor,
    is_product_id,
    new_product_id,
)
from commerce.domain.catalog.ports import CatalogRepository
from commerce.domain.errors import FieldProblem, ValidationFailed
from commerce.domain.inventory.models import Stock, is_sku

MAX_PAGE_SIZE = 100


def create_product(
    catalog: CatalogRepository, spec: ProductSpec, *, now: datetime, new_id: Callable[[], str] = new_product_id
) -> Product:
    """Add a product; its SKUs start with nothing on hand. SkuExists if any SKU is taken (nothing is written)."""
    check_spec(spec)
    record = ProductRecord(product_id=new_id(), spec=spec, retired_skus=(), created_at=now, updated_at=now, version=1)
    catalog.add(record)
    return Product(
        product_id=record.product_id,
        name=spec.name,
        description=spec.description,
        category=spec.category,
        variants=tuple(
            Variant(sku=v.sku, name=v.name, price=v.price, stock=Stock(sku=v.sku, on_hand=0, reserved=0))
            for v in spec.variants
        ),
        created_at=now,
        updated_at=now,
        version=1,
    )


def replace_product(catalog: CatalogRepository, product_id: str, spec: ProductSpec, *, now: datetime) -> Product:
    """Replace a product with `spec`: kept SKUs keep their stock, new ones start at 0, dropped ones retire."""
    check_spec(spec)
    current = get_product(catalog, product_id, consistent=True)
    kept = set(spec.skus)
    retire = [sku for sku in current.sellable_skus if sku not in kept]
    retired = tuple(dict.fromkeys(sku for sku in (*current.retired_skus, *retire) if sku not in kept))
    record = ProductRecord(
        product_id=product_id,
        spec=spec,
        retired_skus=retired,
        created_at=current.created_at,
        updated_at=now,
        version=current.version + 1,
    )
    catalog.replace(record, expected_version=current.version, retire=retire)
    return get_product(catalog, product_id, consistent=True)


def get_product(catalog: CatalogRepository, product_id: str, *, consistent: bool = False) -> Product:
    # An id we could never have issued is simply not found: it never reaches storage.
    product = catalog.get(product_id, consistent=consistent) if is_product_id(product_id) else None
    if product is None:
        raise ProductNotFound(product_id)
    return product


def list_products(
    catalog: CatalogRepository, criteria: ProductCriteria, *, limit: int, after: CatalogPosition | None = None
) -> ProductPage:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE_SIZE}")
    prefix = criteria.sort_prefix
    if after is not None and prefix is not None and not after.sort_name.startswith(prefix):
        # A position outside the prefix cannot come from this listing (and the index would refuse it).
        raise invalid_cursor()
    return catalog.find(criteria, limit, after)


def check_spec(spec: ProductSpec) -> None:
    """The rules spanning fields, for every caller: variants, unique SKUs, one currency, non-blank names."""
    problems: list[FieldProblem] = []
    if not spec.name.strip():
        problems.append(FieldProblem(field="name", code="EMPTY", message="a product needs a name"))
    if not spec.category.strip():
        problems.append(FieldProblem(field="category", code="EMPTY", message="a product needs a category"))
    if not spec.variants:
        problems.append(FieldProblem(field="variants", code="EMPTY", message="at least one variant is required"))
    if len(spec.variants) > MAX_VARIANTS:
        problems.append(FieldProblem(field="variants", code="TOO_MANY", message=f"at most {MAX_VARIANTS} variants"))
    currency = spec.variants[0].price.currency if spec.variants else None
    seen: set[str] = set()
    for index, variant in enumerate(spec.variants):
        if not is_sku(variant.sku):
            problems.append(FieldProblem(field=f"variants[{index}].sku", code="INVALID", message="not a SKU"))
        elif variant.sku in seen:
            problems.append(
                FieldProblem(
                    field=f"variants[{index}].sku", code="DUPLICATE_SKU", message=f"{variant.sku} is listed twice"
                )
            )
        seen.add(variant.sku)
        if not variant.name.strip():
            problems.append(
                FieldProblem(field=f"variants[{index}].name", code="EMPTY", message="a variant needs a name")
            )
        if variant.price.amount < 0:
            problems.append(
                FieldProblem(field=f"variants[{index}].price.amount", code="NEGATIVE", message="must be >= 0")
            )
        if variant.price.currency != currency:
            problems.append(
                FieldProblem(
                    field=f"variants[{index}].price.currency",
                    code="MIXED_CURRENCIES",
                    message=f"all variants of a product are priced in one currency ({currency})",
                )
            )
    if problems:
        raise ValidationFailed("The product is not valid", errors=problems)
