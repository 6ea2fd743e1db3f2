"""The port the stock operations need from storage. The DynamoDB adapter and the in-memory ledger implement it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from commerce.domain.inventory.models import Reservation, ReservationLine, Stock


class StockLedger(Protocol):
    """Every method is atomic; counters never go negative and `available == onHand - reserved` always holds."""

    def get(self, sku: str) -> Stock | None:
        """The SKU's counters (strongly consistent), or None when there is no such SKU."""
        ...

    def set_on_hand(self, sku: str, on_hand: int) -> Stock:
        """Set on-hand units. Raises SkuNotFound, or BelowReserved when `on_hand` < reserved."""
        ...

    def reserve(self, reservation_id: str, lines: Sequence[ReservationLine], expires_at: datetime) -> Reservation:
        """Reserve every line or none (OutOfStock). Idempotent per id; ReservationMismatch if the lines differ."""
        ...

    def get_reservation(self, reservation_id: str) -> Reservation | None: ...

    def release(self, reservation_id: str) -> Reservation:
        """Give the units back, exactly once. ReservationNotFound, or ReservationClosed if committed."""
        ...

    def commit(self, reservation_id: str) -> Reservation:
        """Take the units out of on-hand, exactly once. ReservationNotFound, or ReservationClosed if released."""
        ...
