"""Stock operations: operators set on-hand units; checkouts reserve, then release or commit.

Each function checks its input, then makes one atomic call on the `StockLedger`. Malformed SKUs are
answered as unknown SKUs without reaching storage (a key of arbitrary size is not a storage question).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from commerce.domain.errors import FieldProblem, ValidationFailed
from commerce.domain.inventory.errors import ReservationNotFound, SkuNotFound
from commerce.domain.inventory.models import (
    KEEP,
    MAX_ON_HAND,
    MAX_RESERVATION_LINES,
    MAX_SHARDS,
    Keep,
    Reservation,
    ReservationLine,
    Stock,
    StockSettings,
    is_reservation_id,
    is_sku,
)
from commerce.domain.inventory.ports import StockLedger


def get_stock(ledger: StockLedger, sku: str) -> Stock:
    if not is_sku(sku):
        raise SkuNotFound(sku)
    stock = ledger.get(sku)
    if stock is None:
        raise SkuNotFound(sku)
    return stock


def set_on_hand(ledger: StockLedger, sku: str, on_hand: int) -> Stock:
    """Set on-hand units only (shards and purchase limit stay as they are)."""
    return set_stock(ledger, sku, StockSettings(on_hand))


def set_stock(ledger: StockLedger, sku: str, settings: StockSettings) -> Stock:
    """PUT /admin/inventory/{sku}: on-hand units, and optionally the shard count and the purchase limit."""
    if not is_sku(sku):
        raise SkuNotFound(sku)
    problems: list[FieldProblem] = []
    if not isinstance(settings.on_hand, Keep) and not _is_int_in(settings.on_hand, 0, MAX_ON_HAND):
        problems.append(FieldProblem(field="onHand", code="OUT_OF_RANGE", message=f"must be 0 to {MAX_ON_HAND}"))
    if not isinstance(settings.shards, Keep) and not _is_int_in(settings.shards, 1, MAX_SHARDS):
        problems.append(FieldProblem(field="shards", code="OUT_OF_RANGE", message=f"must be 1 to {MAX_SHARDS}"))
    limit = settings.purchase_limit
    if limit is not KEEP and limit is not None and not _is_int_in(limit, 1, MAX_ON_HAND):
        problems.append(
            FieldProblem(field="purchaseLimit", code="OUT_OF_RANGE", message=f"must be 1 to {MAX_ON_HAND}, or null")
        )
    if problems:
        raise ValidationFailed("The stock settings are not valid", errors=problems)
    return ledger.set_stock(sku, settings)


def reserve_stock(
    ledger: StockLedger,
    reservation_id: str,
    lines: Sequence[ReservationLine],
    expires_at: datetime,
    buyer: str | None = None,
) -> Reservation:
    """Reserve all `lines` or none (OutOfStock lists each short line, PurchaseLimitExceeded each line over
    its SKU's limit for `buyer`). Retrying with the same id is safe."""
    _check_reservation_id(reservation_id)
    _check_lines(lines)
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return ledger.reserve(reservation_id, tuple(lines), expires_at, buyer)


def release_reservation(ledger: StockLedger, reservation_id: str) -> Reservation:
    """Return the reserved units to `available`. Releasing twice is a no-op; a committed reservation is a conflict."""
    if not is_reservation_id(reservation_id):
        raise ReservationNotFound(reservation_id)
    return ledger.release(reservation_id)


def commit_reservation(ledger: StockLedger, reservation_id: str) -> Reservation:
    """The units leave the warehouse: on-hand and reserved both drop. Committing twice is a no-op."""
    if not is_reservation_id(reservation_id):
        raise ReservationNotFound(reservation_id)
    return ledger.commit(reservation_id)


def _is_int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_reservation_id(reservation_id: str) -> None:
    if not is_reservation_id(reservation_id):
        raise ValidationFailed(
            "The reservation id is not valid",
            errors=[FieldProblem(field="reservationId", code="INVALID", message="1-128 letters, digits, - or _")],
        )


def _check_lines(lines: Sequence[ReservationLine]) -> None:
    problems: list[FieldProblem] = []
    if not lines:
        problems.append(FieldProblem(field="lines", code="EMPTY", message="at least one line is required"))
    if len(lines) > MAX_RESERVATION_LINES:
        problems.append(FieldProblem(field="lines", code="TOO_MANY", message=f"at most {MAX_RESERVATION_LINES} lines"))
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not is_sku(line.sku):
            problems.append(FieldProblem(field=f"lines[{index}].sku", code="INVALID", message="not a SKU"))
        elif line.sku in seen:
            # One transaction cannot touch the same item twice; callers merge quantities per SKU.
            problems.append(FieldProblem(field=f"lines[{index}].sku", code="DUPLICATE", message="SKU listed twice"))
        seen.add(line.sku)
        if (
            isinstance(line.quantity, bool)
            or not isinstance(line.quantity, int)
            or not 1 <= line.quantity <= MAX_ON_HAND
        ):
            problems.append(
                FieldProblem(
                    field=f"lines[{index}].quantity", code="OUT_OF_RANGE", message=f"must be 1 to {MAX_ON_HAND}"
                )
            )
    if problems:
        raise ValidationFailed("The reservation lines are not valid", errors=problems)
