"""Shared factories (no tests) for the orders tests: orders as the checkout hands them over, and a clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from commerce.domain.money import Money
from commerce.domain.orders.models import NewOrder, OrderLine, OrderOwner, ShippingAddress, new_order_id

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


class SteppingClock:
    """A clock for transitions: each reading is one millisecond after the previous one."""

    def __init__(self, start: datetime = T0 + timedelta(days=1)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def address(**overrides: str) -> ShippingAddress:
    fields = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postal_code": "N1 9GU"}
    fields.update(overrides)
    return ShippingAddress(country=fields.pop("country", "GB"), **fields)


def lines(currency: str = "EUR") -> tuple[OrderLine, ...]:
    return (
        OrderLine("TSHIRT-RED-M", "p-tshirt", "Organic T-Shirt, Red / M", 2, Money(1500, currency)),
        OrderLine("MUG-WHT", "p-mug", "Mug, White", 1, Money(900, currency)),
    )


def new_order(
    *,
    session_id: str | None = None,
    customer_id: str | None = None,
    email: str = "ada@example.com",
    created_at: datetime = T0,
    order_lines: tuple[OrderLine, ...] | None = None,
    checkout_id: str | None = None,
    order_id: str | None = None,
) -> NewOrder:
    """An order as the checkout hands it over; a fresh guest session owns it unless told otherwise."""
    if session_id is None and customer_id is None:
        session_id = f"sess-{uuid.uuid4().hex[:16]}"
    return NewOrder(
        order_id=order_id or new_order_id(),
        checkout_id=checkout_id or f"chk_{uuid.uuid4().hex}",
        owner=OrderOwner(session_id=session_id, customer_id=customer_id),
        email=email,
        lines=order_lines or lines(),
        shipping_address=address(),
        created_at=created_at,
    )
