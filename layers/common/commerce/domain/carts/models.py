"""Carts as stored, catalog facts about SKUs, limits, and the priced cart the API returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from commerce.domain.clock import rfc3339
from commerce.domain.money import Money

# The currency shown for an empty cart's subtotal: ISO 4217's code for "no currency involved", so that
# `subtotal` keeps the Money shape before the first line decides the cart's currency.
NO_CURRENCY = "XXX"

# Cart ids are derived from the owner (uuid5), so an empty cart has a stable id without being written.
_CART_ID_NAMESPACE = uuid.UUID("6b3f2f4e-1c55-4f8e-9b0e-5b1f3c1d2a7e")


class OwnerKind(StrEnum):
    GUEST = "GUEST"  # a session that no customer has signed in to
    CUSTOMER = "CUSTOMER"  # a Cognito user (sub), across all of their sessions


@dataclass(frozen=True)
class CartOwner:
    kind: OwnerKind
    id: str

    @classmethod
    def guest(cls, session_id: str) -> CartOwner:
        return cls(OwnerKind.GUEST, session_id)

    @classmethod
    def customer(cls, customer_id: str) -> CartOwner:
        return cls(OwnerKind.CUSTOMER, customer_id)

    @property
    def cart_id(self) -> str:
        return str(uuid.uuid5(_CART_ID_NAMESPACE, f"{self.kind.value}#{self.id}"))


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Cart:
    """A cart as stored. `version` 0 means nothing is stored yet; every write stores `version + 1`."""

    owner: CartOwner
    lines: tuple[CartLine, ...] = ()
    version: int = 0
    updated_at: datetime | None = None

    @classmethod
    def empty(cls, owner: CartOwner) -> Cart:
        return cls(owner=owner)

    @property
    def stored(self) -> bool:
        return self.version > 0

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(line.sku for line in self.lines)

    def line(self, sku: str) -> CartLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def with_lines(self, lines: tuple[CartLine, ...]) -> Cart:
        return replace(self, lines=lines)


@dataclass(frozen=True)
class CatalogSku:
    """What the catalog says about one SKU, read from its SKU item (written by the catalog and inventory)."""

    sku: str
    product_id: str
    product_name: str
    variant_name: str
    price: Money
    available: int
    retired: bool = False

    @property
    def display_name(self) -> str:
        return f"{self.product_name} ({self.variant_name})" if self.variant_name else self.product_name


@dataclass(frozen=True)
class CartLimits:
    max_line_quantity: int
    max_lines: int


@dataclass(frozen=True)
class PricedLine:
    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "productId": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "unitPrice": self.unit_price.to_json(),
            "lineTotal": self.line_total.to_json(),
        }


@dataclass(frozen=True)
class PricedCart:
    """The cart as the API shows it (shared/API.md "cart")."""

    cart_id: str
    currency: str | None
    lines: tuple[PricedLine, ...]
    updated_at: datetime

    @property
    def subtotal(self) -> Money:
        total = Money.zero(self.currency or NO_CURRENCY)
        for line in self.lines:
            total = total + line.line_total
        return total

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "cartId": self.cart_id,
            "lines": [line.to_json() for line in self.lines],
            "subtotal": self.subtotal.to_json(),
            "itemCount": self.item_count,
            "updatedAt": rfc3339(self.updated_at),
        }
