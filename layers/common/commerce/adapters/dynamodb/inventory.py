"""The stock ledger on DynamoDB: counters on SKU shard items, reservations as RESERVATION items (keys.py).

A SKU's units are spread over 1..64 shard items (shard 0 is the SKU item itself), so that no single item
takes more than a partition's writes. Every change is a conditional write, so no interleaving of requests
can oversell or drive a counter negative, and each write keeps `available = onHand - reserved` on its item
(conditions cannot do arithmetic, so `available` is stored).

- reserve: one BatchGetItem (the lines' SKU items, the buyer's purchase counters, the reservation if a
  retry already made it), then one TransactWriteItems: the RESERVATION item (created only if absent, which
  makes a retried reserve idempotent and records which shards it took from), the buyer's counters (for SKUs
  with a purchase limit) and one conditional update per shard taken from. A line takes from a random shard;
  when that shard is short the SKU's shards are read and the line spills over the next ones. Items per
  transaction: 1 + (1 if any line is limited) + shards taken from <= 100 (see models.MAX_RESERVATION_LINES).
- release / commit flip the reservation's status under a condition on the old status (so each happens
  once) and give the units back to exactly the shards of its `takes`. The same write drops the reservation's
  sparse GSI1 entry (HELD_RESERVATIONS#<shard>, <expiresAt>#<id>), written with the reservation: an entry
  exists exactly while units are held, so `expired_before` lists every reservation that outlived its
  expiry, whether or not a checkout was ever recorded for it, and one whose release failed stays listed.
  A shard that a reshard deactivated in the meantime takes the released units only to hand them on to
  shard 0 in the same transaction.
- Every write that changes a shard's `reserved` also adds 1 to its `reservedWrites`, which the stock audit
  compares between two audits (commerce.domain.inventory.audit).
- set_stock reads every shard, then moves available units between them in one transaction whose conditions
  pin each shard's on-hand units (and a deactivated shard's available units), so a concurrent reserve or
  release either lands before it (and the transaction retries) or after it; reserved units never move.

Transactions cancelled only by contention (TransactionConflict) or throttling (ThrottlingError) are retried
with jittered backoff; throttling that outlasts the retries answers StockBusy (429 BUSY, Retry-After).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb import time_index
from commerce.adapters.dynamodb.client import TRANSACTION_BACKOFF, dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import (
    held_reservations_partition,
    purchase_counter,
    purchases_key,
    reservation_key,
    sku_key,
    sku_shard_key,
)
from commerce.domain.clock import rfc3339
from commerce.domain.errors import Conflict
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
    StockBusy,
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
from commerce.retry import Backoff

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient

# Reservation items outlive their expiry by this much: the upkeep job releases expired reservations
# long before TTL may delete them (TTL deletion is not a release and would leak the units).
RESERVATION_RETENTION = timedelta(days=7)

# Held reservations are spread over this many GSI1 partitions, so that a burst of reservations does not write
# to one index partition.
HELD_RESERVATION_SHARDS = 16
HELD_RESERVATION_PARTITIONS = tuple(held_reservations_partition(shard) for shard in range(HELD_RESERVATION_SHARDS))
INDEX_NAME = "GSI1"

# Cancellation reasons that mean "someone else was writing these items", not "your condition is false".
RETRIABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
THROTTLING_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
# What a single (non-transactional) request answers when DynamoDB throttles it past the SDK's own retries.
THROTTLING_ERRORS = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})

_BATCH_GET_LIMIT = 100
# A condition failure on a shard means the plan was stale: read again and replan, at most this many times.
_REPLANS = 16

_NAMES = {
    "#onHand": "onHand",
    "#reserved": "reserved",
    "#available": "available",
    "#retired": "retired",
    "#status": "status",
    "#active": "active",
    "#shards": "shards",
    "#shardSpan": "shardSpan",
    "#purchaseLimit": "purchaseLimit",
    "#reservedWrites": "reservedWrites",
}


@dataclass(frozen=True)
class CancellationReason:
    code: str
    item: dict[str, Any] | None  # the item as it was, when ReturnValuesOnConditionCheckFailure=ALL_OLD

    @property
    def condition_failed(self) -> bool:
        return self.code == "ConditionalCheckFailed"


def cancellation_reasons(error: ClientError) -> list[CancellationReason] | None:
    """One reason per transaction item when `error` is a cancelled transaction, else None."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    raw: list[dict[str, Any]] = error.response.get("CancellationReasons") or []  # type: ignore[assignment]
    return [
        CancellationReason(code=str(r.get("Code") or "None"), item=from_attrs(r["Item"]) if r.get("Item") else None)
        for r in raw
    ]


def only_contention(reasons: Sequence[CancellationReason]) -> bool:
    codes = {r.code for r in reasons} - {"None"}
    return bool(codes) and codes <= RETRIABLE_REASONS


def throttled(reasons: Sequence[CancellationReason]) -> bool:
    return any(r.code in THROTTLING_REASONS for r in reasons)


def is_throttling(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in THROTTLING_ERRORS


@dataclass
class _ShardDelta:
    """The change one transaction makes to one shard item, merged over the takes that touch it."""

    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    need_on_hand: int = 0
    need_reserved: int = 0
    active: bool | None = None  # the `active` flag the item must have (None: whatever it is)


class DynamoDbStockLedger:
    """`StockLedger` over the commerce table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or TRANSACTION_BACKOFF

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    # ------------------------------------------------------------------ counters

    def get(self, sku: str) -> Stock | None:
        item = self._get_item(sku_key(sku))
        if item is None:
            return None
        add_shard_counters(self.client, self.table_name, {sku: item}, consistent=True, backoff=self.backoff)
        return _stock(sku, item)

    def set_on_hand(self, sku: str, on_hand: int) -> Stock:
        """Shorthand of `set_stock` for on-hand units only (the demo data and tests seed stock with it)."""
        return self.set_stock(sku, StockSettings(on_hand))

    def set_stock(self, sku: str, settings: StockSettings) -> Stock:
        """Two steps when a reshard leaves shards out: first those shards stop taking reservations (then no
        write but a reshard changes their available units), then one transaction moves the units. A crash
        between the two leaves units on inactive shards, counted but not sold until the PUT is retried."""
        deactivated: list[int] = []
        try:
            return self._set_stock(sku, settings, deactivated)
        except BelowReserved:
            if deactivated:  # refused after all (a reservation came in between): as it was
                self._set_active(sku, deactivated, active=True)
            raise

    def _set_stock(self, sku: str, settings: StockSettings, deactivated: list[int]) -> Stock:
        from botocore.exceptions import ClientError

        was_throttled = False
        for attempt in range(self.backoff.attempts * 2):
            sku_item = self._get_item(sku_key(sku))
            if sku_item is None:
                raise SkuNotFound(sku)
            shards = self._read_shards(sku, _span(sku_item), consistent=True)
            shards[0] = sku_item
            reserved = sum(int(item.get("reserved", 0)) for item in shards.values())
            current = sum(int(item.get("onHand", 0)) for item in shards.values())
            on_hand = current if isinstance(settings.on_hand, Keep) else settings.on_hand
            if on_hand < reserved:
                raise BelowReserved(sku, on_hand, reserved)
            count = _shard_count(sku_item) if isinstance(settings.shards, Keep) else settings.shards
            leaving = [i for i, item in shards.items() if i >= count and item.get("active", True) is not False]
            try:
                if leaving:
                    self._set_active(sku, leaving, active=False)
                    deactivated += leaving
                    continue
                items = self._reshard_items(sku, settings, shards, on_hand - reserved)
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                stock = self.get(sku)
                if stock is None:
                    raise SkuNotFound(sku)
                return stock
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if reasons is None:
                    raise _busy_if_throttled(error) from error
                if not (only_contention(reasons) or any(r.condition_failed for r in reasons)):
                    raise
                was_throttled = throttled(reasons)
            # A condition failed: a reservation or release changed a shard since it was read.
            self.backoff.pause(attempt)
        raise _gave_up(was_throttled, f"SKU {sku} kept changing while its stock was being set; retry")

    def _set_active(self, sku: str, shards: list[int], *, active: bool) -> None:
        self.client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_attrs(sku_shard_key(sku, index)),
                        "UpdateExpression": "SET #active = :active",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeNames": _names("#active"),
                        "ExpressionAttributeValues": to_attrs({":active": active}),
                    }
                }
                for index in shards
            ]
        )

    def _reshard_items(
        self, sku: str, settings: StockSettings, shards: dict[int, dict[str, Any]], available: int
    ) -> list[dict[str, Any]]:
        """One transaction: every shard's available units set to an even share of `available` (0 on
        deactivated ones)."""
        sku_item = shards[0]
        count = _shard_count(sku_item) if isinstance(settings.shards, Keep) else settings.shards
        targets = spread(available, count)
        span = max([count] + [index + 1 for index, item in shards.items() if int(item.get("reserved", 0)) > 0])
        items: list[dict[str, Any]] = []
        for index in range(1, max(span, max(shards) + 1)):
            item = shards.get(index)
            target = targets[index] if index < count else 0
            if item is None:
                if index < count:
                    items.append(self._put_new_shard(sku, index, target))
                continue
            on_hand, available = int(item["onHand"]), int(item["available"])
            if index >= span:  # deactivated and nothing reserved on it: its units move away, the item goes
                items.append(self._delete_drained_shard(sku, index, on_hand))
            else:
                items.append(self._move_units(sku, index, item, target - available, active=index < count))
        delta = targets[0] - int(sku_item.get("available", 0))
        meta: dict[str, Any] = {":shards": count, ":span": span}
        update = "SET #onHand = #onHand + :d, #available = #available + :d, #shards = :shards, #shardSpan = :span"
        names = _names("#onHand", "#available", "#shards", "#shardSpan")
        if settings.purchase_limit is not KEEP:
            names |= _names("#purchaseLimit")
            if settings.purchase_limit is None:
                update += " REMOVE #purchaseLimit"
            else:
                update += ", #purchaseLimit = :limit"
                meta[":limit"] = settings.purchase_limit
        # The old span pins the set of shard items this plan covered (a concurrent reshard changes it).
        condition = "attribute_exists(PK) AND #available >= :need"
        if "shardSpan" in sku_item:
            condition += " AND #shardSpan = :oldSpan"
            meta[":oldSpan"] = int(sku_item["shardSpan"])
        else:
            condition += " AND attribute_not_exists(#shardSpan)"
        items.insert(
            0,
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": to_attrs(sku_key(sku)),
                    "UpdateExpression": update,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": to_attrs({":d": delta, ":need": max(-delta, 0), **meta}),
                }
            },
        )
        return items

    def _put_new_shard(self, sku: str, index: int, units: int) -> dict[str, Any]:
        item = {
            **sku_shard_key(sku, index),
            "entity": "SKU_SHARD",
            "sku": sku,
            "shard": index,
            "onHand": units,
            "reserved": 0,
            "available": units,
            "active": True,
        }
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_attrs(item),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _delete_drained_shard(self, sku: str, index: int, on_hand: int) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": to_attrs(sku_shard_key(sku, index)),
                "ConditionExpression": "#onHand = :o AND #reserved = :zero",
                "ExpressionAttributeNames": _names("#onHand", "#reserved"),
                "ExpressionAttributeValues": to_attrs({":o": on_hand, ":zero": 0}),
            }
        }

    def _move_units(self, sku: str, index: int, item: dict[str, Any], delta: int, *, active: bool) -> dict[str, Any]:
        # Units move as deltas on onHand and available together, so a concurrent reservation or release
        # lands before or after the move and no unit is lost or made. An active shard only needs enough
        # available units to give; an inactive one (nothing but a reshard changes its available units, see
        # set_stock) must end at exactly 0, so its available units are pinned.
        guard = "#available >= :need" if active else "#available = :a"
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_attrs(sku_shard_key(sku, index)),
                "UpdateExpression": "SET #onHand = #onHand + :d, #available = #available + :d, #active = :active",
                "ConditionExpression": guard,
                "ExpressionAttributeNames": _names("#onHand", "#available", "#active"),
                "ExpressionAttributeValues": to_attrs(
                    {":d": delta, ":active": active}
                    | ({":need": max(-delta, 0)} if active else {":a": int(item["available"])})
                ),
            }
        }

    # ------------------------------------------------------------------ reservations

    def reserve(
        self, reservation_id: str, lines: Sequence[ReservationLine], expires_at: datetime, buyer: str | None = None
    ) -> Reservation:
        from botocore.exceptions import ClientError

        wanted = tuple(lines)
        read_shards: set[str] = set()  # sharded SKUs whose shards must be read before planning (one was short)
        attempt = replans = 0
        was_throttled = False
        while attempt < self.backoff.attempts and replans <= _REPLANS:
            skus, purchases, existing = self._reserve_facts(reservation_id, wanted, buyer)
            if existing is not None:
                return self._replayed(reservation_id, wanted, existing)
            over = _over_limit(wanted, skus, purchases, buyer)
            if over:
                raise PurchaseLimitExceeded(over)
            shards = {
                sku: self._active_available(sku, skus[sku])
                for sku in (read_shards | _unsellable_needs_totals(wanted, skus))
                if sku in skus
            }
            takes, shortages = _plan(wanted, skus, shards)
            if shortages:
                raise OutOfStock(shortages)
            counted = tuple(line.sku for line in wanted if buyer is not None and _limit(skus[line.sku]) is not None)
            takes = self._fit(wanted, skus, shards, takes, fixed=1 + (1 if counted else 0))
            reservation = Reservation(
                reservation_id, wanted, ReservationStatus.RESERVED, expires_at, tuple(takes), buyer, counted
            )
            items = self._reserve_items(reservation, skus)
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return reservation
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if reasons is None:
                    raise _busy_if_throttled(error) from error
                if reasons[0].condition_failed:
                    old = reasons[0].item or self._get_item(reservation_key(reservation_id))
                    return self._replayed(reservation_id, wanted, old)
                take_reasons = list(zip(takes, reasons[len(items) - len(takes) :], strict=True))
                # An unsharded SKU's condition is conclusive: its only counter had too few units (as before).
                conclusive = [
                    _shortage(index, line, reason.item)
                    for index, line in enumerate(wanted)
                    for take, reason in take_reasons
                    if take.sku == line.sku and reason.condition_failed and _unsharded(skus[line.sku])
                ]
                if conclusive:
                    raise OutOfStock(conclusive) from error
                short = {take.sku for take, r in take_reasons if r.condition_failed}
                if short or any(r.condition_failed for r in reasons):
                    # A shard (or the buyer's counter) changed since it was read: read again and replan.
                    read_shards |= {sku for sku in short if not _unsharded(skus[sku])}
                    replans += 1
                    continue
                if not only_contention(reasons):
                    raise
                was_throttled = throttled(reasons)
            self.backoff.pause(attempt)
            attempt += 1
        raise _gave_up(was_throttled, f"Reservation {reservation_id} kept colliding with concurrent writes; retry")

    def _reserve_facts(
        self, reservation_id: str, lines: tuple[ReservationLine, ...], buyer: str | None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any] | None]:
        """The lines' SKU items, the buyer's purchase counters and an existing reservation: one BatchGetItem."""
        keys = [sku_key(line.sku) for line in lines] + [reservation_key(reservation_id)]
        if buyer is not None:
            keys.append(purchases_key(buyer))
        found = self._batch_get(keys, consistent=True)
        skus = {str(item["PK"]).removeprefix("SKU#"): item for item in found if str(item["SK"]) == "SKU"}
        purchases = next((item for item in found if str(item["SK"]) == "PURCHASES"), {})
        existing = next((item for item in found if str(item["SK"]) == "RESERVATION"), None)
        return skus, purchases, existing

    def _active_available(self, sku: str, sku_item: dict[str, Any]) -> dict[int, int]:
        """Available units of each shard of `sku` that takes reservations, read now (consistently)."""
        shards = self._read_shards(sku, _span(sku_item), consistent=True)
        count = _shard_count(sku_item)
        available = {0: int(sku_item.get("available", 0))}
        for index, item in shards.items():
            if index < count and item.get("active", True) is not False:
                available[index] = int(item.get("available", 0))
        return available

    def _fit(
        self,
        lines: tuple[ReservationLine, ...],
        skus: dict[str, dict[str, Any]],
        shards: dict[str, dict[int, int]],
        takes: list[ShardTake],
        fixed: int,
    ) -> list[ShardTake]:
        """The takes, or the fewest that serve the lines, within one transaction's item limit."""
        if fixed + len(takes) <= MAX_TRANSACTION_ITEMS:
            return takes
        fewest: list[ShardTake] = []
        for line in lines:
            available = shards.get(line.sku) or {0: int(skus[line.sku].get("available", 0))}
            fewest += fewest_takes(line.sku, line.quantity, available) or []
        if fixed + len(fewest) > MAX_TRANSACTION_ITEMS:
            raise ReservationTooFragmented(fixed + len(fewest), MAX_TRANSACTION_ITEMS)
        return fewest

    def _reserve_items(self, reservation: Reservation, skus: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_attrs(_reservation_item(reservation)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        if reservation.counted and reservation.buyer is not None:
            items.append(self._count_purchases(reservation, skus))
        for take in reservation.takes:
            if take.shard == 0:
                condition = "attribute_exists(PK) AND #retired = :false AND #available >= :q"
                names, values = _names("#reserved", "#available", "#retired"), {":q": take.quantity, ":false": False}
            else:
                condition = "attribute_exists(PK) AND #active = :true AND #available >= :q"
                names, values = _names("#reserved", "#available", "#active"), {":q": take.quantity, ":true": True}
            names |= _names("#reservedWrites")
            values[":one"] = 1
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_attrs(sku_shard_key(take.sku, take.shard)),
                        "UpdateExpression": (
                            "SET #reserved = #reserved + :q, #available = #available - :q ADD #reservedWrites :one"
                        ),
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_attrs(values),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        return items

    def _count_purchases(self, reservation: Reservation, skus: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The buyer's counters up by each limited line, on condition each stays within its SKU's limit."""
        sets, conditions = [], []
        names: dict[str, str] = {}
        values: dict[str, Any] = {":zero": 0}
        quantities = {line.sku: line.quantity for line in reservation.lines}
        for index, sku in enumerate(reservation.counted):
            limit = _limit(skus[sku])
            assert limit is not None
            names[f"#u{index}"] = purchase_counter(sku)
            values[f":q{index}"] = quantities[sku]
            values[f":room{index}"] = limit - quantities[sku]
            sets.append(f"#u{index} = if_not_exists(#u{index}, :zero) + :q{index}")
            conditions.append(f"(attribute_not_exists(#u{index}) OR #u{index} <= :room{index})")
        assert reservation.buyer is not None
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_attrs(purchases_key(reservation.buyer)),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attrs(values),
            }
        }

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        item = self._get_item(reservation_key(reservation_id))
        return _reservation(item) if item else None

    def expired_before(self, moment: datetime, limit: int) -> list[str]:
        """Ids of reservations still held whose expiry is before `moment` (time_index.ids_before)."""
        from botocore.exceptions import ClientError

        try:
            return time_index.ids_before(
                self.client, self.table_name, HELD_RESERVATION_PARTITIONS, "reservationId", moment, limit
            )
        except ClientError as error:
            raise _busy_if_throttled(error) from error

    def release(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.RELEASED)

    def commit(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.COMMITTED)

    def _replayed(
        self, reservation_id: str, lines: tuple[ReservationLine, ...], old_item: dict[str, Any] | None
    ) -> Reservation:
        existing = _reservation(old_item) if old_item else self.get_reservation(reservation_id)
        if existing is None:  # deleted by TTL between the write and the read: too old to be a retry
            raise ReservationMismatch(reservation_id)
        if not existing.same_lines(lines):
            raise ReservationMismatch(reservation_id)
        return existing

    def _close(self, reservation_id: str, target: ReservationStatus) -> Reservation:
        from botocore.exceptions import ClientError

        drained: set[tuple[str, int]] = set()  # shards found deactivated: released units go on to shard 0
        attempt = replans = 0
        was_throttled = False
        while attempt < self.backoff.attempts and replans <= _REPLANS:
            reservation = self.get_reservation(reservation_id)
            if reservation is None:
                raise ReservationNotFound(reservation_id)
            if reservation.status is target:
                return reservation
            if reservation.status is not ReservationStatus.RESERVED:
                raise ReservationClosed(reservation_id, reservation.status.value)
            deltas = _close_deltas(reservation, target, drained)
            items = self._close_items(reservation, target, deltas)
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return replace(reservation, status=target)
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if reasons is None:
                    raise _busy_if_throttled(error) from error
                if reasons[0].condition_failed:
                    continue  # closed by someone else meanwhile: read it again and answer from its status
                shard_reasons = reasons[len(items) - len(deltas) :]
                newly_drained = {
                    shard
                    for shard, r in zip(deltas, shard_reasons, strict=True)
                    if r.condition_failed and r.item is not None and r.item.get("active") is False
                } - drained
                if newly_drained:
                    drained |= newly_drained  # resharded since it was taken from: release through shard 0
                    replans += 1
                    continue
                if any(r.condition_failed for r in reasons[1:]):
                    raise StockInconsistent(
                        f"SKU counters do not hold the units of reservation {reservation_id}"
                    ) from error
                if not only_contention(reasons):
                    raise
                was_throttled = throttled(reasons)
            self.backoff.pause(attempt)
            attempt += 1
        raise _gave_up(was_throttled, f"Reservation {reservation_id} kept colliding with concurrent writes; retry")

    def _close_items(
        self, reservation: Reservation, target: ReservationStatus, deltas: dict[tuple[str, int], _ShardDelta]
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": to_attrs(reservation_key(reservation.reservation_id)),
                    # Closed: out of the index of held reservations, in the same write (see the module docstring).
                    "UpdateExpression": "SET #status = :target REMOVE GSI1PK, GSI1SK",
                    "ConditionExpression": "#status = :reserved",
                    "ExpressionAttributeNames": _names("#status"),
                    "ExpressionAttributeValues": to_attrs(
                        {":target": target.value, ":reserved": ReservationStatus.RESERVED.value}
                    ),
                }
            }
        ]
        if target is ReservationStatus.RELEASED and reservation.counted and reservation.buyer is not None:
            items.append(self._uncount_purchases(reservation))
        items += [self._apply_delta(sku, shard, delta) for (sku, shard), delta in deltas.items()]
        return items

    def _uncount_purchases(self, reservation: Reservation) -> dict[str, Any]:
        quantities = {line.sku: line.quantity for line in reservation.lines}
        names = {f"#u{i}": purchase_counter(sku) for i, sku in enumerate(reservation.counted)}
        values = {f":q{i}": quantities[sku] for i, sku in enumerate(reservation.counted)}
        assert reservation.buyer is not None
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_attrs(purchases_key(reservation.buyer)),
                "UpdateExpression": "SET " + ", ".join(f"#u{i} = #u{i} - :q{i}" for i in range(len(names))),
                "ConditionExpression": " AND ".join(f"#u{i} >= :q{i}" for i in range(len(names))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attrs(values),
            }
        }

    def _apply_delta(self, sku: str, shard: int, delta: _ShardDelta) -> dict[str, Any]:
        sets, conditions = [], ["attribute_exists(PK)"]
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        for attribute, change in (
            ("onHand", delta.on_hand),
            ("reserved", delta.reserved),
            ("available", delta.available),
        ):
            if change:
                names[f"#{attribute}"] = attribute
                values[f":d{attribute}"] = change
                sets.append(f"#{attribute} = #{attribute} + :d{attribute}")
        for attribute, need in (("onHand", delta.need_on_hand), ("reserved", delta.need_reserved)):
            if need:
                names[f"#{attribute}"] = attribute
                values[f":n{attribute}"] = need
                conditions.append(f"#{attribute} >= :n{attribute}")
        if delta.active is not None:
            names["#active"] = "active"
            values[":active"] = delta.active
            conditions.append("#active = :active")
        update = "SET " + ", ".join(sets)
        if delta.reserved:  # counted for the stock audit (commerce.domain.inventory.audit)
            names["#reservedWrites"] = "reservedWrites"
            values[":one"] = 1
            update += " ADD #reservedWrites :one"
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": to_attrs(sku_shard_key(sku, shard)),
                "UpdateExpression": update,
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attrs(values),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    # ------------------------------------------------------------------ reads

    def _get_item(self, key: dict[str, str]) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_item(TableName=self.table_name, Key=to_attrs(key), ConsistentRead=True)
        except ClientError as error:
            raise _busy_if_throttled(error) from error
        item = response.get("Item")
        return from_attrs(item) if item else None

    def _read_shards(self, sku: str, span: int, *, consistent: bool) -> dict[int, dict[str, Any]]:
        """Shard items 1..span-1 of `sku` that exist, by index."""
        found = self._batch_get([sku_shard_key(sku, index) for index in range(1, span)], consistent=consistent)
        return {int(item["shard"]): item for item in found}

    def _batch_get(self, keys: list[dict[str, str]], *, consistent: bool) -> list[dict[str, Any]]:
        return batch_get(self.client, self.table_name, keys, consistent=consistent, backoff=self.backoff)


def batch_get(
    client: DynamoDBClient,
    table_name: str,
    keys: list[dict[str, str]],
    *,
    consistent: bool,
    backoff: Backoff,
    projection: str | None = None,
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Items by key (100 per request), asking again for the keys DynamoDB left unprocessed, after a pause."""
    from botocore.exceptions import ClientError

    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), _BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table_name: {
                "Keys": [to_attrs(k) for k in keys[start : start + _BATCH_GET_LIMIT]],
                "ConsistentRead": consistent,
            }
        }
        if projection:
            request[table_name] |= {"ProjectionExpression": projection, "ExpressionAttributeNames": names or {}}
        for attempt in range(backoff.attempts):
            try:
                response = client.batch_get_item(RequestItems=request)
            except ClientError as error:
                raise _busy_if_throttled(error) from error
            found += [from_attrs(item) for item in response.get("Responses", {}).get(table_name, [])]
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
            backoff.pause(attempt)
        else:
            raise StockBusy()
    return found


def add_shard_counters(
    client: DynamoDBClient,
    table_name: str,
    sku_items: dict[str, dict[str, Any]],
    *,
    consistent: bool,
    backoff: Backoff,
) -> None:
    """Turn SKU items' shard-0 counters into the SKU's totals (onHand, reserved, available summed over its
    shards). Costs nothing for unsharded SKUs, and one more BatchGetItem when any of them is sharded."""
    keys = [sku_shard_key(sku, index) for sku, item in sku_items.items() for index in range(1, _span(item))]
    if not keys:
        return
    for shard in batch_get(client, table_name, keys, consistent=consistent, backoff=backoff):
        total = sku_items[str(shard["sku"])]
        for attribute in ("onHand", "reserved", "available"):
            total[attribute] = int(total.get(attribute, 0)) + int(shard.get(attribute, 0))


def _busy_if_throttled(error: ClientError) -> Exception:
    return StockBusy() if is_throttling(error) else error


def _gave_up(throttled: bool, conflict: str) -> Conflict | StockBusy:
    """What a write loop that ran out of attempts answers: BUSY (429, Retry-After) if DynamoDB was throttling
    the items at the end, otherwise a conflict with the concurrent writers."""
    return StockBusy() if throttled else Conflict(conflict)


def _names(*placeholders: str) -> dict[str, str]:
    return {p: _NAMES[p] for p in placeholders}


def _span(sku_item: dict[str, Any]) -> int:
    return int(sku_item.get("shardSpan", 1))


def _unsharded(sku_item: dict[str, Any]) -> bool:
    return _shard_count(sku_item) == 1 and _span(sku_item) == 1


def _shortage(index: int, line: ReservationLine, item: dict[str, Any] | None) -> Shortage:
    if item is None or item.get("retired", False) is not False:
        return Shortage(index, line.sku, line.quantity, 0, sellable=False)
    return Shortage(index, line.sku, line.quantity, int(item.get("available", 0)), sellable=True)


def _shard_count(sku_item: dict[str, Any]) -> int:
    return int(sku_item.get("shards", 1))


def _limit(sku_item: dict[str, Any]) -> int | None:
    limit = sku_item.get("purchaseLimit")
    return None if limit is None else int(limit)


def _sellable(sku_item: dict[str, Any] | None) -> bool:
    return sku_item is not None and sku_item.get("retired", False) is False


def _unsellable_needs_totals(lines: tuple[ReservationLine, ...], skus: dict[str, dict[str, Any]]) -> set[str]:
    """When a line cannot be served at all, every other line's shortage is reported too: read the shards of
    the sharded ones so that their totals are known."""
    if all(_sellable(skus.get(line.sku)) for line in lines):
        return set()
    return {line.sku for line in lines if line.sku in skus and _span(skus[line.sku]) > 1}


def _over_limit(
    lines: tuple[ReservationLine, ...],
    skus: dict[str, dict[str, Any]],
    purchases: dict[str, Any],
    buyer: str | None,
) -> list[OverLimit]:
    over: list[OverLimit] = []
    for index, line in enumerate(lines):
        item = skus.get(line.sku)
        limit = _limit(item) if item is not None else None
        if buyer is None or limit is None:
            continue
        held = int(purchases.get(purchase_counter(line.sku), 0))
        if held + line.quantity > limit:
            over.append(OverLimit(index, line.sku, line.quantity, held, limit))
    return over


def _plan(
    lines: tuple[ReservationLine, ...], skus: dict[str, dict[str, Any]], shards: dict[str, dict[int, int]]
) -> tuple[list[ShardTake], list[Shortage]]:
    """Where each line takes its units from. A SKU whose shards were read is planned exactly (spilling from a
    random start); an unsharded one from its SKU item; a sharded one not read yet optimistically, all from
    one random shard (its condition tells when that shard is short, and the next attempt reads them all)."""
    takes: list[ShardTake] = []
    shortages: list[Shortage] = []
    for index, line in enumerate(lines):
        item = skus.get(line.sku)
        if item is None or not _sellable(item):
            shortages.append(Shortage(index, line.sku, line.quantity, 0, sellable=False))
            continue
        count = _shard_count(item)
        known = shards.get(line.sku)
        if known is None and _unsharded(item):
            known = {0: int(item.get("available", 0))}
        if known is None:
            start = random_start(count)
            if start == 0 and int(item.get("available", 0)) < line.quantity:
                start = 1 + random_start(count - 1)  # shard 0 was just read and is short: try another one
            takes.append(ShardTake(line.sku, start, line.quantity))
            continue
        planned = plan_takes(line.sku, line.quantity, known, random_start(count))
        if planned is None:
            shortages.append(Shortage(index, line.sku, line.quantity, sum(known.values()), sellable=True))
        else:
            takes += planned
    return takes, shortages


def _close_deltas(
    reservation: Reservation, target: ReservationStatus, drained: set[tuple[str, int]]
) -> dict[tuple[str, int], _ShardDelta]:
    """What releasing or committing does to each shard item its takes came from."""
    takes = reservation.takes or tuple(ShardTake(line.sku, 0, line.quantity) for line in reservation.lines)
    deltas: dict[tuple[str, int], _ShardDelta] = {}
    for take in takes:
        delta = deltas.setdefault((take.sku, take.shard), _ShardDelta())
        q = take.quantity
        delta.reserved -= q
        delta.need_reserved += q
        if target is ReservationStatus.COMMITTED:
            delta.on_hand -= q
            delta.need_on_hand += q
        elif (take.sku, take.shard) in drained:
            # A deactivated shard keeps no available units: they leave it and arrive on shard 0.
            delta.on_hand -= q
            delta.need_on_hand += q
            delta.active = False
            home = deltas.setdefault((take.sku, 0), _ShardDelta())
            home.on_hand += q
            home.available += q
        else:
            delta.available += q
            if take.shard:
                delta.active = True
    return deltas


def _stock(sku: str, item: dict[str, Any]) -> Stock:
    return Stock(
        sku=sku,
        on_hand=int(item.get("onHand", 0)),
        reserved=int(item.get("reserved", 0)),
        shards=_shard_count(item),
        purchase_limit=_limit(item),
    )


def held_index_attributes(reservation: Reservation) -> dict[str, str]:
    """The sparse GSI1 entry of a reservation that holds units (none once it is closed)."""
    if reservation.status is not ReservationStatus.RESERVED:
        return {}
    return time_index.entry(HELD_RESERVATION_PARTITIONS, reservation.reservation_id, reservation.expires_at)


def _reservation_item(reservation: Reservation) -> dict[str, Any]:
    return {
        **reservation_key(reservation.reservation_id),
        **held_index_attributes(reservation),
        "entity": "RESERVATION",
        "reservationId": reservation.reservation_id,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in reservation.lines],
        "takes": [{"sku": t.sku, "shard": t.shard, "quantity": t.quantity} for t in reservation.takes],
        "buyer": reservation.buyer,
        "counted": list(reservation.counted) or None,
        "status": reservation.status.value,
        "expiresAt": rfc3339(reservation.expires_at),
        "ttl": int((reservation.expires_at + RESERVATION_RETENTION).timestamp()),
    }


def _reservation(item: dict[str, Any]) -> Reservation:
    return Reservation(
        reservation_id=str(item["reservationId"]),
        lines=tuple(ReservationLine(sku=str(line["sku"]), quantity=int(line["quantity"])) for line in item["lines"]),
        status=ReservationStatus(item["status"]),
        expires_at=datetime.fromisoformat(str(item["expiresAt"])),
        # Reservations made before shards existed took every line from the SKU item (shard 0).
        takes=tuple(
            ShardTake(str(t["sku"]), int(t["shard"]), int(t["quantity"]))
            for t in item.get("takes")
            or [{"sku": line["sku"], "shard": 0, "quantity": line["quantity"]} for line in item["lines"]]
        ),
        buyer=str(item["buyer"]) if item.get("buyer") else None,
        counted=tuple(str(sku) for sku in item.get("counted") or ()),
    )
