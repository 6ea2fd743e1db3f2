"""Products, their variants, and what listing and writing them takes, as plain values."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from commerce.domain.errors import FieldProblem, ValidationFailed
from commerce.domain.inventory.models import Stock
from commerce.domain.money import Money

# One replace must fit one DynamoDB transaction of 100 items: every kept or new variant, every
# variant it retires, and the product item itself (49 + 49 + 1).
MAX_VARIANTS = 49

PRODUCT_ID_PATTERN = r"^[0-9a-f]{32}$"
_PRODUCT_ID = re.compile(PRODUCT_ID_PATTERN)


def new_product_id() -> str:
    return uuid.uuid4().hex


def is_product_id(value: str) -> bool:
    return bool(_PRODUCT_ID.fullmatch(value))


def sort_name(name: str) -> str:
    """The form names are ordered and searched by: case-insensitive, as the catalog indexes store them."""
    return name.casefold()


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    name: str
    price: Money


@dataclass(frozen=True)
class ProductSpec:
    """What an operator says a product is (the body of POST and PUT /admin/products)."""

    name: str
    description: str
    category: str
    variants: tuple[VariantSpec, ...]

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(v.sku for v in self.variants)


@dataclass(frozen=True)
class ProductRecord:
    """What the repository writes for one product: the spec plus identity, history and version."""

    product_id: str
    spec: ProductSpec
    retired_skus: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class Variant:
    sku: str
    name: str
    price: Money
    stock: Stock
    retired: bool = False


@dataclass(frozen=True)
class Product:
    """A product as read back: sellable variants in the operator's order, then retired ones."""

    product_id: str
    name: str
    description: str
    category: str
    variants: tuple[Variant, ...]
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def sellable_variants(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if not v.retired)

    @property
    def sellable_skus(self) -> tuple[str, ...]:
        return tuple(v.sku for v in self.sellable_variants)

    @property
    def retired_skus(self) -> tuple[str, ...]:
        return tuple(v.sku for v in self.variants if v.retired)


@dataclass(frozen=True)
class ProductCriteria:
    """Which products a listing shows: one category (exact), a name prefix (case-insensitive), or all."""

    category: str | None = None
    name_prefix: str | None = None

    @property
    def sort_prefix(self) -> str | None:
        return sort_name(self.name_prefix) if self.name_prefix else None


@dataclass(frozen=True)
class CatalogPosition:
    """Where a listing page ended: listings are ordered by (sort name, product id)."""

    sort_name: str
    product_id: str

    # A sort name is a case-folded product name; folding can lengthen a name, never beyond this.
    MAX_SORT_NAME = 800

    def to_fields(self) -> dict[str, str]:
        return {"n": self.sort_name, "id": self.product_id}

    @classmethod
    def from_fields(cls, fields: dict[str, str] | None) -> CatalogPosition | None:
        """The position a cursor names, or ValidationFailed when the fields cannot be one."""
        if fields is None:
            return None
        name, product_id = fields.get("n"), fields.get("id")
        if (
            set(fields) != {"n", "id"}
            or not isinstance(name, str)
            or not isinstance(product_id, str)
            or len(name) > cls.MAX_SORT_NAME
            or not is_product_id(product_id)
        ):
            raise invalid_cursor()
        return cls(sort_name=name, product_id=product_id)

    @classmethod
    def of(cls, product: Product) -> CatalogPosition:
        return cls(sort_name=sort_name(product.name), product_id=product.product_id)


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this listing",
        errors=[FieldProblem(field="cursor", code="INVALID_CURSOR", message="use a nextCursor from the same listing")],
    )


@dataclass(frozen=True)
class ProductPage:
    items: tuple[Product, ...]
    next_position: CatalogPosition | None
