"""An in-memory `StockLedger` with the DynamoDB adapter's semantics, for unit tests and local experiments.

It also holds the SKU records the in-memory catalog writes (the two share SKU items in DynamoDB too).
One lock makes every operation atomic, as conditional writes and transactions are in DynamoDB. Shards are
modelled as the adapter stores them: shard 0's counters are the SKU record's own `on_hand` / `reserved`
(the SKU item in DynamoDB), shards 1.. are `ShardCounters`; a shard that a reshard deactivated keeps only
reserved units until its reservations close (see `commerce.domain.inventory.shards`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from commerce.domain.inventory.audit import AuditState, ShardCount, SkuPage
from commerce.domain.inventory.errors import (
    BelowReserved,
    OutOfStock,
    OverLimit,
    PurchaseLimitExceeded,
    ReservationClosed,
    ReservationMismatch,
    ReservationNotFound,
    ReservationTooFragmented,
    Shortage,
    SkuNotFound,
    StockInconsistent,
)
from commerce.domain.inventory.models import (
    KEEP,
    MAX_TRANSACTION_ITEMS,
    Keep,
    Reservation,
    ReservationLine,
    ReservationStatus,
    ShardTake,
    Stock,
    StockSettings,
)
from commerce.domain.inventory.shards import fewest_takes, plan_takes, random_start, spread
from commerce.domain.money import Money


@dataclass
class ShardCounters:
    on_hand: int = 0
    reserved: int = 0
    active: bool = True
    reserved_writes: int = 0  # as the adapter's `reservedWrites`: bumped by every change of `reserved`


@dataclass
class SkuRecord:
    """The in-memory twin of a SKU item: what the catalog sells, shard 0's counters and the other shards."""

    sku: str
    product_id: str
    product_name: str
    variant_name: str
    price: Money
    on_hand: int = 0
    reserved: int = 0
    reserved_writes: int = 0
    retired: bool = False
    shards: int = 1
    purchase_limit: int | None = None
    others: dict[int, ShardCounters] = field(default_factory=dict)

    def stock(self) -> Stock:
        return Stock(
            sku=self.sku,
            on_hand=self.on_hand + sum(s.on_hand for s in self.others.values()),
            reserved=self.reserved + sum(s.reserved for s in self.others.values()),
            shards=self.shards,
            purchase_limit=self.purchase_limit,
        )

    def active_available(self) -> dict[int, int]:
        """Available units of each shard that takes reservations."""
        return {0: self.on_hand - self.reserved} | {
            index: s.on_hand - s.reserved for index, s in self.others.items() if s.active
        }


class InMemoryStockLedger:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.skus: dict[str, SkuRecord] = {}
        self.reservations: dict[str, Reservation] = {}
        self.purchases: dict[tuple[str, str], int] = {}  # (buyer, sku) -> units held open or bought

    def get(self, sku: str) -> Stock | None:
        with self.lock:
            record = self.skus.get(sku)
            return record.stock() if record else None

    def set_on_hand(self, sku: str, on_hand: int) -> Stock:
        """Shorthand of `set_stock` for on-hand units only (the demo data and tests seed stock with it)."""
        return self.set_stock(sku, StockSettings(on_hand))

    def set_stock(self, sku: str, settings: StockSettings) -> Stock:
        with self.lock:
            record = self.skus.get(sku)
            if record is None:
                raise SkuNotFound(sku)
            current = record.stock()
            on_hand = current.on_hand if isinstance(settings.on_hand, Keep) else settings.on_hand
            if on_hand < current.reserved:
                raise BelowReserved(sku, on_hand, current.reserved)
            shards = record.shards if isinstance(settings.shards, Keep) else settings.shards
            targets = spread(on_hand - current.reserved, shards)
            record.on_hand = record.reserved + targets[0]
            for index in range(1, max(shards, max(record.others, default=0) + 1)):
                counters = record.others.setdefault(index, ShardCounters())
                counters.active = index < shards
                counters.on_hand = counters.reserved + (targets[index] if counters.active else 0)
                if not counters.active and counters.reserved == 0:
                    del record.others[index]  # drained: the DynamoDB adapter deletes such shard items too
            record.shards = shards
            if settings.purchase_limit is not KEEP:
                record.purchase_limit = settings.purchase_limit
            return record.stock()

    def reserve(
        self, reservation_id: str, lines: Sequence[ReservationLine], expires_at: datetime, buyer: str | None = None
    ) -> Reservation:
        wanted = tuple(lines)
        with self.lock:
            existing = self.reservations.get(reservation_id)
            if existing is not None:
                if not existing.same_lines(wanted):
                    raise ReservationMismatch(reservation_id)
                return existing
            over = self._over_limit(wanted, buyer)
            if over:
                raise PurchaseLimitExceeded(over)
            shortages = [
                shortage for index, line in enumerate(wanted) if (shortage := self._shortage(index, line)) is not None
            ]
            if shortages:
                raise OutOfStock(shortages)
            counted = self._counted(wanted, buyer)
            takes = self._plan(wanted, fixed_items=1 + (1 if counted else 0))
            for take in takes:
                record = self.skus[take.sku]
                if take.shard == 0:
                    record.reserved += take.quantity
                    record.reserved_writes += 1
                else:
                    record.others[take.shard].reserved += take.quantity
                    record.others[take.shard].reserved_writes += 1
            for line in wanted:
                if line.sku in counted and buyer is not None:
                    self.purchases[(buyer, line.sku)] = self.purchases.get((buyer, line.sku), 0) + line.quantity
            reservation = Reservation(
                reservation_id, wanted, ReservationStatus.RESERVED, expires_at, tuple(takes), buyer, counted
            )
            self.reservations[reservation_id] = reservation
            return reservation

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        with self.lock:
            return self.reservations.get(reservation_id)

    def expired_before(self, moment: datetime, limit: int) -> list[str]:
        """Reservations still held whose expiry is before `moment`, oldest first (the adapter's GSI1 entries)."""
        with self.lock:
            held = [r for r in self.reservations.values() if r.status is ReservationStatus.RESERVED]
            expired = sorted((r for r in held if r.expires_at < moment), key=lambda r: r.expires_at)
            return [r.reservation_id for r in expired[:limit]]

    def release(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.RELEASED)

    def commit(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.COMMITTED)

    def _counted(self, lines: tuple[ReservationLine, ...], buyer: str | None) -> tuple[str, ...]:
        if buyer is None:
            return ()
        return tuple(line.sku for line in lines if self.skus[line.sku].purchase_limit is not None)

    def _over_limit(self, lines: tuple[ReservationLine, ...], buyer: str | None) -> list[OverLimit]:
        over: list[OverLimit] = []
        for index, line in enumerate(lines):
            record = self.skus.get(line.sku)
            if buyer is None or record is None or record.purchase_limit is None:
                continue
            held = self.purchases.get((buyer, line.sku), 0)
            if held + line.quantity > record.purchase_limit:
                over.append(OverLimit(index, line.sku, line.quantity, held, record.purchase_limit))
        return over

    def _shortage(self, index: int, line: ReservationLine) -> Shortage | None:
        record = self.skus.get(line.sku)
        if record is None or record.retired:
            return Shortage(index, line.sku, line.quantity, 0, sellable=False)
        available = sum(record.active_available().values())
        if available < line.quantity:
            return Shortage(index, line.sku, line.quantity, available, sellable=True)
        return None

    def _plan(self, lines: tuple[ReservationLine, ...], fixed_items: int) -> list[ShardTake]:
        takes: list[ShardTake] = []
        for line in lines:
            record = self.skus[line.sku]
            available = record.active_available()
            planned = plan_takes(line.sku, line.quantity, available, random_start(record.shards))
            assert planned is not None  # the shortage check ran under the same lock
            takes += planned
        if fixed_items + len(takes) <= MAX_TRANSACTION_ITEMS:
            return takes
        takes = []
        for line in lines:
            planned = fewest_takes(line.sku, line.quantity, self.skus[line.sku].active_available())
            assert planned is not None
            takes += planned
        if fixed_items + len(takes) > MAX_TRANSACTION_ITEMS:
            raise ReservationTooFragmented(fixed_items + len(takes), MAX_TRANSACTION_ITEMS)
        return takes

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
            for take in reservation.takes:
                counters = self._counters(take)
                if counters is None or counters[1] < take.quantity or counters[0] < take.quantity:
                    raise StockInconsistent(f"SKU {take.sku} does not hold the units of reservation {reservation_id}")
            for take in reservation.takes:
                record = self.skus[take.sku]
                shard = record.others.get(take.shard) if take.shard else None
                if shard is None:
                    record.reserved -= take.quantity
                    record.reserved_writes += 1
                    record.on_hand -= take.quantity if committing else 0
                    continue
                shard.reserved -= take.quantity
                shard.reserved_writes += 1
                if committing or not shard.active:
                    shard.on_hand -= take.quantity
                if not committing and not shard.active:
                    record.on_hand += take.quantity  # released from a drained shard: the units go to shard 0
            if not committing and reservation.buyer is not None:
                for line in reservation.lines:
                    if line.sku in reservation.counted:
                        key = (reservation.buyer, line.sku)
                        self.purchases[key] = self.purchases.get(key, 0) - line.quantity
            closed = replace(reservation, status=target)
            self.reservations[reservation_id] = closed
            return closed

    def _counters(self, take: ShardTake) -> tuple[int, int] | None:
        """(on hand, reserved) of the shard a take came from."""
        record = self.skus.get(take.sku)
        if record is None:
            return None
        if take.shard == 0:
            return record.on_hand, record.reserved
        shard = record.others.get(take.shard)
        return (shard.on_hand, shard.reserved) if shard else None


class InMemoryStockAudit:
    """`StockAuditStore` over an `InMemoryStockLedger`: SKUs paged by name, the state kept in memory."""

    def __init__(self, ledger: InMemoryStockLedger) -> None:
        self.ledger = ledger
        self.state = AuditState()

    def audit_state(self) -> AuditState:
        return self.state

    def save_audit_state(self, state: AuditState) -> None:
        self.state = state

    def sku_page(self, cursor: str | None, limit: int) -> SkuPage:
        with self.ledger.lock:
            names = sorted(sku for sku in self.ledger.skus if cursor is None or sku > cursor)
        page = names[:limit]
        return SkuPage(page, page[-1] if len(names) > limit else None)

    def shard_counts(self, skus: Sequence[str]) -> list[ShardCount]:
        counts = []
        with self.ledger.lock:
            for sku in skus:
                record = self.ledger.skus[sku]
                home = ShardCounters(record.on_hand, record.reserved, reserved_writes=record.reserved_writes)
                for index, shard in sorted(({0: home} | record.others).items()):
                    available = shard.on_hand - shard.reserved
                    counts.append(
                        ShardCount(sku, index, shard.on_hand, shard.reserved, available, shard.reserved_writes)
                    )
        return counts

    def held_units(self) -> dict[tuple[str, int], int]:
        held: dict[tuple[str, int], int] = {}
        with self.ledger.lock:
            for reservation in self.ledger.reservations.values():
                if reservation.status is ReservationStatus.RESERVED:
                    for take in reservation.takes:
                        held[(take.sku, take.shard)] = held.get((take.sku, take.shard), 0) + take.quantity
        return held

    def correct_reserved(self, count: ShardCount, held: int) -> bool:
        with self.ledger.lock:
            record = self.ledger.skus[count.sku]
            shard = record.others.get(count.shard) if count.shard else None
            if count.shard and shard is None:
                return False
            counters: SkuRecord | ShardCounters = record if shard is None else shard
            if (counters.on_hand, counters.reserved, counters.reserved_writes) != (
                count.on_hand,
                count.reserved,
                count.reserved_writes,
            ):
                return False
            counters.reserved = held
            counters.reserved_writes += 1
            return True
