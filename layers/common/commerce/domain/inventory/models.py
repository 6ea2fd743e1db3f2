"""Stock counters and reservations as plain values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

# SKUs are upper-case codes so that they read the same in URLs, labels and logs.
SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,63}$"
_SKU = re.compile(SKU_PATTERN)

# The most units one SKU may have on hand: far above any real stock, far below any counter overflow.
MAX_ON_HAND = 100_000_000

# A reservation is one TransactWriteItems, and DynamoDB allows 100 items in one: the reservation item, the
# buyer's purchase counter item (one for all its limited SKUs) and one item per shard a line takes units
# from. A line takes from one shard unless it spills, so lines are capped at 98 (2 + 98 = 100); a spill that
# would need more items than that is refused (ReservationTooFragmented) rather than split over transactions.
MAX_TRANSACTION_ITEMS = 100
MAX_RESERVATION_LINES = MAX_TRANSACTION_ITEMS - 2

# A SKU's stock is spread over 1..64 counter items ("shards"); each takes a partition's writes on its own.
MAX_SHARDS = 64

RESERVATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
_RESERVATION_ID = re.compile(RESERVATION_ID_PATTERN)


def is_sku(value: str) -> bool:
    return bool(_SKU.fullmatch(value))


def is_reservation_id(value: str) -> bool:
    return bool(_RESERVATION_ID.fullmatch(value))


@dataclass(frozen=True)
class Stock:
    """One SKU's counters summed over its shards. `available` is derived (the store keeps a copy per shard).

    `shards` is how many counter items take new reservations; `purchase_limit` the units one buyer may hold
    in open checkouts plus have bought (None: no limit).
    """

    sku: str
    on_hand: int
    reserved: int
    shards: int = 1
    purchase_limit: int | None = None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "onHand": self.on_hand,
            "reserved": self.reserved,
            "available": self.available,
            "shards": self.shards,
            "purchaseLimit": self.purchase_limit,
        }


class Keep(Enum):
    """Leave a setting as it is (a PUT that does not name `shards` or `purchaseLimit`)."""

    KEEP = "KEEP"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class StockSettings:
    """What an operator sets on a SKU: on-hand units, the shard count, the purchase limit; KEEP leaves one as
    it is (resharding alone only moves units between shards, so it is exact however many buyers reserve)."""

    on_hand: int | Keep
    shards: int | Keep = KEEP
    purchase_limit: int | Keep | None = KEEP


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
class ShardTake:
    """Units of one line taken from one shard: release and commit give them back to exactly that shard."""

    sku: str
    shard: int
    quantity: int


@dataclass(frozen=True)
class Reservation:
    """`takes` says where the units came from; `buyer` and `counted` which purchase counters were taken."""

    reservation_id: str
    lines: tuple[ReservationLine, ...]
    status: ReservationStatus
    expires_at: datetime
    takes: tuple[ShardTake, ...] = ()
    buyer: str | None = None
    counted: tuple[str, ...] = ()

    def same_lines(self, lines: tuple[ReservationLine, ...]) -> bool:
        """Order does not matter: a retried reserve may list the same lines differently."""
        return sorted((line.sku, line.quantity) for line in self.lines) == sorted(
            (line.sku, line.quantity) for line in lines
        )
