"""An in-memory `StockLedger` with the DynamoDB adapter's semantics, for unit tests and local experiments.

It also holds the SKU records the in-memory catalog writes (the two share SKU items in DynamoDB too).
One lock makes every operation atomic, as conditional writes and transactions are in DynamoDB.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from commerce.domain.inventory.errors import (
    BelowReserved,
    OutOfStock,
    ReservationClosed,
    ReservationMismatch,
    ReservationNotFound,
    Shortage,
    SkuNotFound,
    StockInconsistent,
)
from commerce.domain.inventory.models import Reservation, ReservationLine, ReservationStatus, Stock
from commerce.domain.money import Money


@dataclass
class SkuRecord:
    """The in-memory twin of a SKU item: what the catalog sells and the stock counters."""

    sku: str
    product_id: str
    product_name: str
    variant_name: str
    price: Money
    on_hand: int = 0
    reserved: int = 0
    retired: bool = False

    def stock(self) -> Stock:
        return Stock(sku=self.sku, on_hand=self.on_hand, reserved=self.reserved)


class InMemoryStockLedger:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.skus: dict[str, SkuRecord] = {}
        self.reservations: dict[str, Reservation] = {}

    def get(self, sku: str) -> Stock | None:
        with self.lock:
            record = self.skus.get(sku)
            return record.stock() if record else None

    def set_on_hand(self, sku: str, on_hand: int) -> Stock:
        with self.lock:
            record = self.skus.get(sku)
            if record is None:
                raise SkuNotFound(sku)
            if on_hand < record.reserved:
                raise BelowReserved(sku, on_hand, record.reserved)
            record.on_hand = on_hand
            return record.stock()

    def reserve(self, reservation_id: str, lines: Sequence[ReservationLine], expires_at: datetime) -> Reservation:
        wanted = tuple(lines)
        with self.lock:
            existing = self.reservations.get(reservation_id)
            if existing is not None:
                if not existing.same_lines(wanted):
                    raise ReservationMismatch(reservation_id)
                return existing
            shortages = [
                shortage for index, line in enumerate(wanted) if (shortage := self._shortage(index, line)) is not None
            ]
            if shortages:
                raise OutOfStock(shortages)
            for line in wanted:
                self.skus[line.sku].reserved += line.quantity
            reservation = Reservation(reservation_id, wanted, ReservationStatus.RESERVED, expires_at)
            self.reservations[reservation_id] = reservation
            return reservation

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        with self.lock:
            return self.reservations.get(reservation_id)

    def release(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.RELEASED)

    def commit(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.COMMITTED)

    def _shortage(self, index: int, line: ReservationLine) -> Shortage | None:
        record = self.skus.get(line.sku)
        if record is None or record.retired:
            return Shortage(index, line.sku, line.quantity, 0, sellable=False)
        available = record.on_hand - record.reserved
        if available < line.quantity:
            return Shortage(index, line.sku, line.quantity, available, sellable=True)
        return None

    def _close(self, reservation_id: str, target: ReservationStatus) -> Reservation:
        with self.lock:
            reservation = self.reservations.get(reservation_id)
            if reservation is None:
                raise ReservationNotFound(reservation_id)
            if reservation.status is target:
                return reservation
            if reservation.status is not ReservationStatus.RESERVED:
                raise ReservationClosed(reservation_id, reservation.status.value)
            committing = target is ReservationStatus.COMMITTED
            for line in reservation.lines:
                record = self.skus.get(line.sku)
                if record is None or record.reserved < line.quantity or (committing and record.on_hand < line.quantity):
                    raise StockInconsistent(f"SKU {line.sku} does not hold the units of reservation {reservation_id}")
            for line in reservation.lines:
                record = self.skus[line.sku]
                record.reserved -= line.quantity
                if committing:
                    record.on_hand -= line.quantity
            closed = replace(reservation, status=target)
            self.reservations[reservation_id] = closed
            return closed
