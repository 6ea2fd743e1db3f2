"""The catalog's request models: strict pydantic shapes of the HTTP contract (shared/API.md).

Bodies are strict (`"2"` is not an integer) and reject unknown fields. Rules that span fields
(unique SKUs, one currency per product) live in `service.check_spec`, so that every caller gets them.
Query parameters arrive as strings, so `ProductFilters` parses leniently but still rejects unknown names.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from commerce.domain.catalog.currencies import is_currency
from commerce.domain.catalog.models import MAX_VARIANTS, ProductCriteria, ProductSpec, VariantSpec
from commerce.domain.inventory.models import SKU_PATTERN
from commerce.domain.money import Money

# Stripe's ceiling for one amount in most currencies; anything above is a typo, not a price.
MAX_PRICE_AMOUNT = 99_999_999

_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # tabs and line breaks allowed

ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_ONE_LINE)]
VariantName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_ONE_LINE)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=_ONE_LINE)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000, pattern=_TEXT)]
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]


def _iso_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError("must be an ISO 4217 currency code such as EUR or USD")
    return code


Currency = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_iso_currency)]


class _StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PriceBody(_StrictBody):
    amount: int = Field(ge=0, le=MAX_PRICE_AMOUNT)
    currency: Currency


class VariantBody(_StrictBody):
    sku: Sku
    name: VariantName
    price: PriceBody


class ProductBody(_StrictBody):
    """POST /admin/products and PUT /admin/products/{productId}."""

    name: ProductName
    description: Description
    category: Category
    variants: list[VariantBody] = Field(min_length=1, max_length=MAX_VARIANTS)

    def to_spec(self) -> ProductSpec:
        return ProductSpec(
            name=self.name,
            description=self.description,
            category=self.category,
            variants=tuple(
                VariantSpec(sku=v.sku, name=v.name, price=Money(v.price.amount, v.price.currency))
                for v in self.variants
            ),
        )


class ProductFilters(BaseModel):
    """`category` (exact) and `q` (name prefix, case-insensitive) of GET /products and GET /admin/products."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Category | None = None
    q: Annotated[str, StringConstraints(max_length=200, pattern=_ONE_LINE)] | None = None

    @field_validator("category", "q", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        # Storefront search forms send `q=` when the box is empty: that is "no filter", not an error.
        return None if isinstance(value, str) and not value.strip() else value

    def criteria(self) -> ProductCriteria:
        return ProductCriteria(category=self.category, name_prefix=self.q)

    def cursor_scope(self) -> str:
        """Binds a cursor to the filters it was issued for."""
        return f"products\x1f{self.category or ''}\x1f{self.q or ''}"
