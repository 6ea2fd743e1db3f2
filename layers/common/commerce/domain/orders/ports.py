"""The port the order operations need from storage. The Data API adapter and the in-memory repository implement it."""

from __future__ import annotations

from typing import Protocol

from commerce.domain.orders.models import (
    NewOrder,
    Order,
    OrderEvent,
    OrderFilters,
    OrderOwner,
    OrderPage,
    OrderPosition,
    OrderStatus,
)


class OrderRepository(Protocol):
    def create(self, order: NewOrder) -> Order:
        """Store the order, its lines and its creation event at once, or nothing.

        Idempotent per checkout id: when the checkout already made an order, that order is returned
        unchanged (whatever `order` says). OrderIdTaken when the order id belongs to another checkout.
        """
        ...

    def get(self, order_id: str) -> Order | None:
        """The order with its lines and events (oldest first), or None. `order_id` is a canonical UUID."""
        ...

    def find(
        self, filters: OrderFilters, owner: OrderOwner | None, limit: int, after: OrderPosition | None
    ) -> OrderPage:
        """Up to `limit` orders matching `filters` (and owned by `owner`, when given), newest first,
        strictly after `after`; `next_position` is set when more may follow."""
        ...

    def transition(self, order_id: str, expected: OrderStatus, event: OrderEvent) -> bool:
        """Move the order from `expected` to `event.to_status` and append `event`, atomically.

        False (and nothing written) when the order's status is no longer `expected`: another change won.
        """
        ...
