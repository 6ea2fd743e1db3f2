"""Stock counters and reservations as plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

# SKUs are upper-case codes so that they read the same in URLs, labels and logs.
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,63}$"
_SKU = re.compile(SKU_PATTERN)

# The most units one SKU may have on hand: far above any real stock, far below any counter overflow.
MAX_ON_HAND = 100_000_000

# A reservation is one transaction: its lines plus the reservation item, and DynamoDB allows 100 items.
MAX_RESERVATION_LINES = 99

RESERVATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
_RESERVATION_ID = re.compile(RESERVATION_ID_PATTERN)


def is_sku(value: str) -> bool:
    return bool(_SKU.fullmatch(value))


def is_reservation_id(value: str) -> bool:
    return bool(_RESERVATION_ID.fullmatch(value))


@dataclass(frozen=True)
class Stock:
    """One SKU's counters. `available` is derived, and the store keeps a copy of it for conditions."""

    sku: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "onHand": self.on_hand, "reserved": self.reserved, "available": self.available}


class ReservationStatus(StrEnum):
    """RESERVED holds units; RELEASED gave them back; COMMITTED shipped them out of on-hand. Both ends are final."""

    RESERVED = "RESERVED"
    RELEASED = "RELEASED"
    COMMITTED = "COMMITTED"


@dataclass(frozen=True)
class ReservationLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    lines: tuple[ReservationLine, ...]
    status: ReservationStatus
    expires_at: datetime

    def same_lines(self, lines: tuple[ReservationLine, ...]) -> bool:
        """Order does not matter: a retried reserve may list the same lines differently."""
        return sorted((line.sku, line.quantity) for line in self.lines) == sorted(
            (line.sku, line.quantity) for line in lines
        )
