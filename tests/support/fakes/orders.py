"""An in-memory `OrderRepository` with the Data API adapter's semantics, for unit tests and the checkout's tests.

One lock makes each operation atomic, as one statement or one transaction is in PostgreSQL; the same
rules the database enforces (one order per checkout, transitions only from the expected status and only
along the lifecycle, events only appended) are enforced here, so a test passing here does not rely on
something the database would refuse.
"""

from __future__ import annotations

import threading

from commerce.domain.orders.errors import OrderIdTaken
from commerce.domain.orders.lifecycle import status_changes
from commerce.domain.orders.models import (
    FULFILMENT_EVENTS,
    NewOrder,
    Order,
    OrderEvent,
    OrderFilters,
    OrderOwner,
    OrderPage,
    OrderPosition,
    OrderStatus,
)


class InMemoryOrderRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[str, Order] = {}
        self._by_checkout: dict[str, str] = {}

    def create(self, order: NewOrder) -> Order:
        with self._lock:
            existing_id = self._by_checkout.get(order.checkout_id)
            if existing_id is not None:
                return self._orders[existing_id]
            if order.order_id in self._orders:
                raise OrderIdTaken(order.order_id, order.checkout_id)
            created = order.as_order()
            self._orders[order.order_id] = created
            self._by_checkout[order.checkout_id] = order.order_id
            return created

    def get(self, order_id: str) -> Order | None:
        with self._lock:
            return self._orders.get(order_id)

    def find(
        self, filters: OrderFilters, owner: OrderOwner | None, limit: int, after: OrderPosition | None
    ) -> OrderPage:
        with self._lock:
            matching = [o for o in self._orders.values() if _matches(o, filters, owner)]
        matching.sort(key=lambda o: o.position.sort_key(), reverse=True)
        if after is not None:
            matching = [o for o in matching if o.position.sort_key() < after.sort_key()]
        page = tuple(matching[:limit])
        more = len(matching) > limit
        return OrderPage(orders=page, next_position=page[-1].position if more and page else None)

    def transition(self, order_id: str, expected: OrderStatus, event: OrderEvent) -> bool:
        if event.from_status is not expected or event.to_status is None:
            raise ValueError("a transition event goes from the expected status to a new one")
        if (expected, event.to_status) not in status_changes():
            # The database's trigger refuses this too: only the lifecycle's changes are ever written.
            raise ValueError(f"{expected.value} -> {event.to_status.value} is not a lifecycle transition")
        if event.type in FULFILMENT_EVENTS and not event.detail.get("lines"):
            raise ValueError("a fulfilment event carries its lines")  # so does the database's check_fulfilment()
        with self._lock:
            order = self._orders.get(order_id)
            if order is None or order.status is not expected:
                return False
            moved = order.after(event)
            if event.type in FULFILMENT_EVENTS and not _ships_what_is_left(moved):
                return False  # the adapter's answer to the database's CF001 / CF002 (0005_fulfilments.sql)
            self._orders[order_id] = moved
            return True

    def all_orders(self) -> list[Order]:
        """Every stored order (for tests that check invariants over the whole store)."""
        with self._lock:
            return list(self._orders.values())


def _ships_what_is_left(after: Order) -> bool:
    """What the database checks of a fulfilment: no SKU ships more than was bought (or was not bought), and
    the order is FULFILLED exactly when nothing is left to ship."""
    bought = {line.sku: line.quantity for line in after.lines}
    shipped: dict[str, int] = {}
    for fulfilment in after.fulfilments:
        for line in fulfilment.lines:
            shipped[line.sku] = shipped.get(line.sku, 0) + line.quantity
    if any(units > bought.get(sku, 0) for sku, units in shipped.items()):
        return False
    return (not after.unfulfilled()) is (after.status is OrderStatus.FULFILLED)


def _matches(order: Order, filters: OrderFilters, owner: OrderOwner | None) -> bool:
    if owner is not None and not owner.owns(order):
        return False
    if filters.status is not None and order.status is not filters.status:
        return False
    if filters.email is not None and order.email.lower() != filters.email.lower():
        return False
    if filters.created_from is not None and order.created_at < filters.created_from:
        return False
    return not (filters.created_to is not None and order.created_at >= filters.created_to)
