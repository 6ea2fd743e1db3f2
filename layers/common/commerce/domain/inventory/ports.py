"""The port the stock operations need from storage. The DynamoDB adapter and the in-memory ledger implement it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from commerce.domain.inventory.models import Reservation, ReservationLine, Stock, StockSettings


class StockLedger(Protocol):
    """Every method is atomic; counters never go negative and `available == onHand - reserved` always holds."""

    def get(self, sku: str) -> Stock | None:
        """The SKU's counters (strongly consistent), or None when there is no such SKU."""
        ...

    def set_stock(self, sku: str, settings: StockSettings) -> Stock:
        """Set on-hand units (spread evenly over the shards' available units), and optionally reshard and set
        the purchase limit, in one atomic step while reservations go on: no unit lost or invented, reserved
        units stay on the shards holding them. Raises SkuNotFound, or BelowReserved when `on_hand` < reserved.
        """
        ...

    def reserve(
        self, reservation_id: str, lines: Sequence[ReservationLine], expires_at: datetime, buyer: str | None = None
    ) -> Reservation:
        """Reserve every line or none (OutOfStock), each from a random shard, spilling to the next ones when it
        is short. With a `buyer`, lines of SKUs with a purchase limit also take that buyer's counter
        (PurchaseLimitExceeded, nothing reserved, when over). Idempotent per id; ReservationMismatch if the
        lines differ.
        """
        ...

    def get_reservation(self, reservation_id: str) -> Reservation | None: ...

    def release(self, reservation_id: str) -> Reservation:
        """Give the units back to the shards they came from (and the buyer's counter), exactly once.
        ReservationNotFound, or ReservationClosed if committed."""
        ...

    def commit(self, reservation_id: str) -> Reservation:
        """Take the units out of on-hand on the shards they came from, exactly once (bought units keep counting
        against the purchase limit). ReservationNotFound, or ReservationClosed if released."""
        ...
