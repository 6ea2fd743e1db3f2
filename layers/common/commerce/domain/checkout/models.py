"""The checkout record: what was accepted (lines priced from the catalog, total, address, owner) and how
far its workflow got (status, payment, failure).

Status moves only forward, through `CheckoutStatus.may_become`; `COMPLETED`, `FAILED`, `EXPIRED` and
`CANCELLED` are final. A cart has at most one open (not final) checkout: see `Checkout.cart`. The checkout
id is derived from the caller and its `Idempotency-Key`, so a retried request (or a retried delivery of the
same work) always names the same checkout, execution and payment intent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from commerce.domain.clock import rfc3339
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress

_CHECKOUT_ID_NAMESPACE = uuid.UUID("0f7c53c4-3a7e-4a55-8a3c-7b0d5f3e9b21")


class CheckoutStatus(StrEnum):
    QUEUED = "QUEUED"  # accepted: stock reserved, work queued
    PROCESSING = "PROCESSING"  # the workflow started: order being created, payment being requested
    AWAITING_PAYMENT = "AWAITING_PAYMENT"  # the payment intent exists; the customer pays at the provider
    COMPLETED = "COMPLETED"  # paid: order PAID, stock committed
    FAILED = "FAILED"  # payment declined or impossible; reservation released, order cancelled
    EXPIRED = "EXPIRED"  # not paid in time; reservation released, order cancelled
    CANCELLED = "CANCELLED"  # cancelled by the buyer before it was paid; reservation released, order cancelled

    @property
    def final(self) -> bool:
        return self in _FINAL

    def may_become(self, target: CheckoutStatus) -> bool:
        return target in _NEXT[self]


_FINAL = frozenset({CheckoutStatus.COMPLETED, CheckoutStatus.FAILED, CheckoutStatus.EXPIRED, CheckoutStatus.CANCELLED})
_ENDS = (CheckoutStatus.FAILED, CheckoutStatus.EXPIRED, CheckoutStatus.CANCELLED)  # what any open checkout may become
_NEXT: dict[CheckoutStatus, frozenset[CheckoutStatus]] = {
    CheckoutStatus.QUEUED: frozenset({CheckoutStatus.PROCESSING, *_ENDS}),
    CheckoutStatus.PROCESSING: frozenset({CheckoutStatus.AWAITING_PAYMENT, *_ENDS}),
    CheckoutStatus.AWAITING_PAYMENT: frozenset({CheckoutStatus.COMPLETED, *_ENDS}),
    CheckoutStatus.COMPLETED: frozenset(),
    CheckoutStatus.FAILED: frozenset(),
    CheckoutStatus.EXPIRED: frozenset(),
    CheckoutStatus.CANCELLED: frozenset(),
}


class FailureCode(StrEnum):
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_TIMEOUT = "PAYMENT_TIMEOUT"
    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    CANCELLED = "CANCELLED"
    INTERNAL = "INTERNAL"


@dataclass(frozen=True)
class Payment:
    provider: str  # "stripe"
    intent_id: str
    client_secret: str

    def to_json(self) -> dict[str, str]:
        return {"provider": self.provider, "intentId": self.intent_id, "clientSecret": self.client_secret}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Payment:
        return cls(str(data["provider"]), str(data["intentId"]), str(data["clientSecret"]))


@dataclass(frozen=True)
class Failure:
    code: FailureCode
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Failure:
        return cls(FailureCode(str(data["code"])), str(data["message"]))


def checkout_id_for(owner_key: str, idempotency_key: str) -> str:
    """The checkout a caller's `Idempotency-Key` names: the same inputs always give the same id."""
    return str(uuid.uuid5(_CHECKOUT_ID_NAMESPACE, f"{owner_key}\n{idempotency_key}"))


def cart_of(owner: OrderOwner) -> str:
    """The cart a buyer checks out: a customer's own cart, else the guest session's (the carts' owner keys)."""
    if owner.customer_id is not None:
        return f"CUSTOMER#{owner.customer_id}"
    if owner.session_id is None:
        raise ValueError("a checkout is placed from a session")
    return f"SESSION#{owner.session_id}"


@dataclass(frozen=True)
class Checkout:
    checkout_id: str
    order_id: str
    owner: OrderOwner
    status: CheckoutStatus
    email: str
    shipping_address: ShippingAddress
    lines: tuple[OrderLine, ...]
    total: Money
    reservation_expires_at: datetime
    created_at: datetime
    updated_at: datetime
    payment: Payment | None = None
    failure: Failure | None = None
    version: int = 1

    def moved_to(
        self,
        status: CheckoutStatus,
        at: datetime,
        *,
        payment: Payment | None = None,
        failure: Failure | None = None,
    ) -> Checkout:
        if not self.status.may_become(status):
            raise ValueError(f"a {self.status} checkout cannot become {status}")
        return replace(
            self,
            status=status,
            updated_at=at,
            payment=payment or self.payment,
            failure=failure or self.failure,
            version=self.version + 1,
        )

    @property
    def cart(self) -> str:
        """The cart this checkout was placed from (its owner key: the customer's cart, else the guest
        session's), which has at most one open checkout at a time."""
        return cart_of(self.owner)

    def owned_by(self, owner: OrderOwner) -> bool:
        return (owner.customer_id is not None and self.owner.customer_id == owner.customer_id) or (
            owner.session_id is not None and self.owner.session_id == owner.session_id
        )

    def to_json(self) -> dict[str, Any]:
        """The API's checkout shape (shared/API.md)."""
        return {
            "checkoutId": self.checkout_id,
            "orderId": self.order_id,
            "status": self.status.value,
            "total": self.total.to_json(),
            "payment": self.payment.to_json() if self.payment else None,
            "failure": self.failure.to_json() if self.failure else None,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
        }
